/**
 * The USB plug-in flow: which attached drives belong to which destinations, mounting a drive at
 * its destination's mountpoint, and handing it back ("safe to unplug") after the work.
 *
 * Drives are identified by filesystem label and/or UUID from blkid (lsblk leaves them empty
 * without a udev database); lsblk only adds transport, removable and size. Every step re-reads
 * the kernel's mount table rather than trusting what the previous step meant to do.
 */
import { mkdir, readdir, stat } from 'node:fs/promises';
import { realpath } from 'node:fs/promises';
import { LifeboatError } from '../../core/errors.ts';
import { checkDestination, driveName, type Destination, type DestinationState } from './destination-state.ts';
import { findMount, isMountPoint, parseMountinfo, type MountEntry } from './mountinfo.ts';
import type { DeviceProbe, LsblkEntry, MountOptions } from './probe.ts';
import { resolvePath } from './resolve-path.ts';
import { isNotInstalled } from './run-command.ts';

/** A block device with a filesystem that has a label or UUID. */
export interface AttachedDrive {
  readonly device: string;
  readonly label?: string;
  readonly uuid?: string;
  readonly fsType?: string;
  readonly removable: boolean;
  readonly hotplug: boolean;
  /** `usb`, `sata`, ... of the device or its disk; missing for loop devices. */
  readonly transport?: string;
  readonly sizeBytes?: number;
  /** Every place the kernel has it mounted now. */
  readonly mountPoints: readonly string[];
}

export interface DriveMatch {
  readonly destination: Destination;
  readonly drive: AttachedDrive;
  readonly matchedBy: 'label' | 'uuid' | 'label+uuid';
}

export interface MountOutcome {
  /** True when this call mounted the drive (false: it was mounted already, or was refused). */
  readonly mounted: boolean;
  /** The destination as checked after the attempt; write only when it is `ready`. */
  readonly state: DestinationState;
  readonly notes: readonly string[];
}

export interface ReleaseOutcome {
  /** True when the drive is mounted nowhere and may be pulled out. */
  readonly safe: boolean;
  readonly poweredOff: boolean;
  /** `BU-2025-MEDIA: safe to unplug`, or why it is not. */
  readonly message: string;
  readonly notes: readonly string[];
}

async function canon(p: string): Promise<string> {
  return p.startsWith('/') ? realpath(p).catch(() => p) : p;
}

async function mountsOf(device: string, mounts: readonly MountEntry[]): Promise<MountEntry[]> {
  const dev = await canon(device);
  const out: MountEntry[] = [];
  for (const m of mounts) if ((await canon(m.source)) === dev) out.push(m);
  return out;
}

/** Lists block devices that carry a labelled or UUID'd filesystem, with what lsblk knows of them. */
export async function listAttachedDrives(probe: DeviceProbe): Promise<AttachedDrive[]> {
  const [ids, mounts, blocks] = await Promise.all([
    probe.blkid(),
    probe.mountinfo().then(parseMountinfo),
    probe.lsblk().catch((e: unknown) => {
      if (isNotInstalled(e)) return [] as LsblkEntry[]; // lsblk only enriches; identity is blkid's
      throw e;
    }),
  ]);
  const byPath = new Map<string, LsblkEntry>();
  for (const b of blocks) byPath.set(await canon(b.path), b);
  const drives: AttachedDrive[] = [];
  for (const id of ids) {
    if (id.label === undefined && id.uuid === undefined) continue;
    const blk = byPath.get(await canon(id.device));
    const disk = blk?.parent !== undefined ? byPath.get(await canon(blk.parent)) : undefined;
    const transport = blk?.transport ?? disk?.transport;
    const size = blk?.sizeBytes;
    drives.push({
      device: id.device,
      ...(id.label !== undefined ? { label: id.label } : {}),
      ...(id.uuid !== undefined ? { uuid: id.uuid } : {}),
      ...(id.type !== undefined ? { fsType: id.type } : {}),
      removable: (blk?.removable ?? false) || (disk?.removable ?? false),
      hotplug: (blk?.hotplug ?? false) || (disk?.hotplug ?? false),
      ...(transport !== undefined ? { transport } : {}),
      ...(size !== undefined ? { sizeBytes: size } : {}),
      mountPoints: (await mountsOf(id.device, mounts)).map((m) => m.mountPoint),
    });
  }
  return drives;
}

function matchKind(dest: Destination, d: AttachedDrive): DriveMatch['matchedBy'] | undefined {
  // A drive with the configured label but not the enrolled UUID is an impostor, not a match.
  const enrolledUuid = dest.uuid === undefined ? dest.enrolled?.uuid : undefined;
  if (enrolledUuid !== undefined && d.uuid?.toLowerCase() !== enrolledUuid.toLowerCase()) return undefined;
  const labelOk = dest.label !== undefined && d.label === dest.label;
  const uuidOk = dest.uuid !== undefined && d.uuid !== undefined && d.uuid.toLowerCase() === dest.uuid.toLowerCase();
  if (dest.label !== undefined && dest.uuid !== undefined) return labelOk && uuidOk ? 'label+uuid' : undefined;
  if (labelOk) return 'label';
  if (uuidOk) return 'uuid';
  return undefined;
}

/**
 * Pairs attached drives with usb destinations. A destination with both label and UUID matches
 * only a drive with both; a drive with the right label and another UUID (configured or
 * enrolled) is not a match (checkDestination reports it as wrong-drive). Two drives matching one
 * label-only destination are both returned; mountDrive refuses to choose between them.
 */
export async function findAttachedDrives(probe: DeviceProbe, destinations: readonly Destination[]): Promise<DriveMatch[]> {
  const usb = destinations.filter((d) => d.kind === 'usb');
  if (usb.length === 0) return [];
  const drives = await listAttachedDrives(probe);
  const matches: DriveMatch[] = [];
  for (const destination of usb) {
    for (const drive of drives) {
      const matchedBy = matchKind(destination, drive);
      if (matchedBy !== undefined) matches.push({ destination, drive, matchedBy });
    }
  }
  return matches;
}

/**
 * Mounts the matched drive at its destination's mountpoint unless it is there already, then
 * checks the destination again from the mount table. The mountpoint directory is created when
 * missing (one level only: it lives on the root filesystem, its parent must exist); nothing is
 * ever written inside it. Mounting is refused (state returned unchanged, with a note) when
 * something else is mounted there or the drive is not the one checkDestination would pick.
 */
export async function mountDrive(match: DriveMatch, probe: DeviceProbe, opts: MountOptions = {}): Promise<MountOutcome> {
  const dest = match.destination;
  const name = match.drive.label ?? driveName(dest);
  if (dest.kind !== 'usb' || dest.mountpoint === undefined) {
    throw new LifeboatError('USAGE', `Cannot mount ${name}: destination '${dest.name}' is not a usb destination with a mountpoint`);
  }
  const before = await checkDestination(dest, probe);
  if (before.state !== 'not-mounted') {
    const notes = before.state === 'ready' ? [] : [`${name} was not mounted: ${before.why}`];
    return { mounted: false, state: before, notes };
  }
  if (before.device === undefined || (await canon(before.device)) !== (await canon(match.drive.device))) {
    return { mounted: false, state: before, notes: [`${name} (${match.drive.device}) was not mounted: ${before.why}`] };
  }
  const mp = await resolvePath(dest.mountpoint);
  const mounts = parseMountinfo(await probe.mountinfo());
  if (mp.exists && isMountPoint(mp.path, mounts)) {
    // Something is mounted there already (checkDestination said why it is not this drive).
    return { mounted: false, state: before, notes: [`${name} was not mounted: ${before.why}`] };
  }
  const notes: string[] = [];
  if (!mp.exists) {
    try {
      await mkdir(mp.path, { mode: 0o755 });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new LifeboatError(code === 'ENOENT' ? 'NOT_FOUND' : 'IO', `Cannot create the mountpoint ${mp.path} for ${name}`, {
        cause: e,
        ...(code === 'ENOENT' ? { hint: 'its parent directory must exist' } : {}),
      });
    }
    notes.push(`created the mountpoint ${mp.path}`);
  } else {
    if (!(await stat(mp.path)).isDirectory()) {
      throw new LifeboatError('USAGE', `Cannot mount ${name} at ${mp.path}: it is not a directory`);
    }
    const hidden = await readdir(mp.path);
    if (hidden.length > 0) {
      notes.push(
        `${hidden.length} entr${hidden.length === 1 ? 'y' : 'ies'} in ${mp.path} will be hidden by the mount: they were written while no drive was mounted there; move them away after unplugging`,
      );
    }
  }
  try {
    await probe.mount(match.drive.device, mp.path, opts);
  } catch (e) {
    throw new LifeboatError('IO', `Cannot mount ${name} (${match.drive.device}) at ${mp.path}: ${(e as Error).message}`, { cause: e });
  }
  const after = await checkDestination(dest, probe);
  if (after.state !== 'ready') notes.push(`${name} was mounted, but the destination is not ready: ${after.why}`);
  return { mounted: true, state: after, notes };
}

/**
 * Hands the drive back after the work: sync, unmount the destination's mountpoint (every mount of
 * this drive stacked there), power off. Safe to unplug only when the mount table shows the drive
 * mounted nowhere; mounts elsewhere (a desktop automount) are reported, not unmounted.
 * `powerOff: false` stops at the unmount.
 */
export async function releaseDrive(match: DriveMatch, probe: DeviceProbe, opts: { powerOff?: boolean } = {}): Promise<ReleaseOutcome> {
  const dest = match.destination;
  const name = match.drive.label ?? driveName(dest);
  const device = match.drive.device;
  const notes: string[] = [];
  const dev = await canon(device);
  const mp = dest.mountpoint !== undefined ? await resolvePath(dest.mountpoint) : undefined;
  const before = parseMountinfo(await probe.mountinfo());
  const top = mp?.exists === true ? findMount(mp.path, before) : undefined;
  // Flush just this drive when it is visible at its mountpoint: a global sync waits for every busy
  // disk of the server. Otherwise (mounted elsewhere, or hidden) flush everything.
  await probe.sync(top !== undefined && (await canon(top.source)) === dev ? mp?.path : undefined);
  if (mp !== undefined) {
    for (let i = 0; i < 16; i++) {
      const mounts = parseMountinfo(await probe.mountinfo());
      if (!mp.exists || !isMountPoint(mp.path, mounts)) break;
      const here = findMount(mp.path, mounts);
      if (here === undefined || (await canon(here.source)) !== dev) break; // not ours: leave it alone
      try {
        await probe.umount(mp.path);
      } catch (e) {
        return {
          safe: false,
          poweredOff: false,
          message: `${name}: not safe to unplug, ${mp.path} could not be unmounted (${(e as Error).message})`,
          notes: [...notes, 'a process may still use files there; `fuser -vm` shows which'],
        };
      }
      notes.push(`unmounted ${mp.path}`);
    }
  }
  const still = await mountsOf(device, parseMountinfo(await probe.mountinfo()));
  if (still.length > 0) {
    return {
      safe: false,
      poweredOff: false,
      message: `${name}: not safe to unplug, still mounted at ${still.map((m) => m.mountPoint).join(', ')}`,
      notes,
    };
  }
  // `drive enroll` leaves a drive it mounted itself as it found it: plugged in, powered.
  if (opts.powerOff === false) return { safe: true, poweredOff: false, message: `${name}: safe to unplug`, notes };
  const power = await probe.powerOff(device);
  if (power.note !== undefined) notes.push(power.note);
  return { safe: true, poweredOff: power.done, message: `${name}: safe to unplug`, notes };
}
