/**
 * checkDestination: may this destination be written right now? The answer is one of five states,
 * each with a sentence for the operator; only `ready` may be written. The check itself creates,
 * mounts and writes nothing.
 *
 * Identity comes from blkid (label/UUID of the block device), mount facts from the kernel's mount
 * table (/proc/self/mountinfo, last entry wins), paths are realpath'd first so a symlink cannot
 * lead a write from the drive back onto the root disk.
 */
import { dirname, normalize } from 'node:path';
import { realpath } from 'node:fs/promises';
import { LifeboatError } from '../../core/errors.ts';
import { findMount, isMountPoint, isReadWrite, parseMountinfo, type MountEntry } from './mountinfo.ts';
import type { BlkidEntry, DeviceProbe } from './probe.ts';
import { isInside, resolvePath } from './resolve-path.ts';

/** A destination as the devices module needs to see it (the config layer maps onto this). */
export interface Destination {
  readonly name: string;
  readonly kind: 'usb' | 'nas' | 'local';
  /** usb: filesystem label of the drive (`BU-2025-MEDIA`). */
  readonly label?: string;
  /** usb: filesystem UUID of the drive; with a label, both must match. */
  readonly uuid?: string;
  /** usb: where the drive is mounted (required); nas: the share's mount point (optional). */
  readonly mountpoint?: string;
  /** nas: a path on the share, used when no mountpoint is given. */
  readonly path?: string;
  /** The directory the repository or mirror lives in. */
  readonly root: string;
  /**
   * What `drive enroll` recorded on the server. A usb drive must then also have the enrolled
   * UUID: a drive with the configured label and another UUID is an impostor (wrong-drive), even
   * when the configuration names only the label.
   */
  readonly enrolled?: EnrolledIdentity;
}

/** The enrolled drive and repository of a destination, as the state store remembers them. */
export interface EnrolledIdentity {
  readonly label?: string | undefined;
  readonly uuid?: string | undefined;
  readonly repositoryId?: string | undefined;
  /** ms since the epoch. */
  readonly enrolledAt: number;
  /** When the enrolled drive was last seen ready (ms), if ever. */
  readonly lastSeen?: number | undefined;
}

type Found = { readonly label?: string; readonly uuid?: string; readonly device?: string };

export type DestinationState =
  | { readonly state: 'absent'; readonly why: string }
  | { readonly state: 'not-mounted'; readonly device?: string; readonly why: string }
  | {
      readonly state: 'wrong-drive';
      readonly why: string;
      readonly found: Found;
      /** Set when the drive is refused for not being the enrolled one. */
      readonly enrolled?: EnrolledIdentity;
    }
  | { readonly state: 'read-only'; readonly why: string }
  | {
      readonly state: 'ready';
      /** The repository/mirror directory, resolved (it may not exist before enroll). */
      readonly root: string;
      readonly mountPoint: string;
      readonly device?: string;
      readonly label?: string;
      readonly uuid?: string;
    };

/** How messages name the destination's drive: its label, else its UUID, else the destination. */
export function driveName(dest: Pick<Destination, 'name' | 'label' | 'uuid'>): string {
  if (dest.label !== undefined) return dest.label;
  if (dest.uuid !== undefined) return `the drive with UUID ${dest.uuid}`;
  return `the drive of destination '${dest.name}'`;
}

function sentence(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function sameUuid(a: string | undefined, b: string | undefined): boolean {
  return a !== undefined && b !== undefined && a.toLowerCase() === b.toLowerCase();
}

function describeDrive(d: { label?: string; uuid?: string; device?: string }): string {
  const id = d.label ?? (d.uuid !== undefined ? `UUID ${d.uuid}` : 'an unlabelled drive');
  return d.device !== undefined ? `${id} (${d.device})` : id;
}

function day(ms: number | undefined): string {
  return ms === undefined ? 'never' : new Date(ms).toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
}

/** "this BU-X (UUID f3bc...) is not the enrolled drive (UUID c5fc..., last seen ...)" */
export function impostorWhy(dest: Pick<Destination, 'name'>, found: Found, enrolled: EnrolledIdentity): string {
  const what = found.label !== undefined ? `This ${found.label}` : 'This drive';
  const where = found.device !== undefined ? `${found.device}, ` : '';
  return (
    `${what} (${where}UUID ${found.uuid ?? 'none'}) is not the enrolled drive of '${dest.name}' ` +
    `(UUID ${enrolled.uuid ?? 'none'}, enrolled ${day(enrolled.enrolledAt)}, last seen ${day(enrolled.lastSeen)}): nothing will be written to it; ` +
    `plug in the enrolled drive, or make this one the drive of '${dest.name}' with \`lifeboat drive enroll ${dest.name} --replace\``
  );
}

function foundOf(d: BlkidEntry): Found {
  return { ...(d.label !== undefined ? { label: d.label } : {}), ...(d.uuid !== undefined ? { uuid: d.uuid } : {}) };
}

/** The wrong-drive state for a drive with the destination's label that is not the enrolled one. */
function impostor(dest: Destination, d: BlkidEntry, enrolled: EnrolledIdentity): DestinationState {
  const found = { ...foundOf(d), device: d.device };
  return { state: 'wrong-drive', why: impostorWhy(dest, found, enrolled), found, enrolled };
}

/** Canonical device paths (`/dev/disk/by-label/X` -> `/dev/sdb1`), memoised per check. */
function deviceCanon(): (p: string) => Promise<string> {
  const memo = new Map<string, Promise<string>>();
  return (p) => {
    let v = memo.get(p);
    if (v === undefined) {
      v = p.startsWith('/') ? realpath(p).catch(() => p) : Promise.resolve(p);
      memo.set(p, v);
    }
    return v;
  };
}

/**
 * Where the destination stands. Rules by kind:
 * - usb: the drive is found by label and/or UUID (blkid). None -> absent; the label matches but
 *   the UUID does not (or the reverse) -> wrong-drive; with an enrolment, a drive with the
 *   configured label/UUID but not the enrolled UUID -> wrong-drive naming the enrolled drive;
 *   the mountpoint is not a mount point, or is mounted from something else -> not-mounted, or wrong-drive when that something is another
 *   labelled drive; mounted read-only -> read-only; else ready.
 * - nas: the mountpoint (or the mount holding `path`/`root`) must be a real mount other than the
 *   root filesystem, and not a bind mount of it, and not an untriggered automount.
 * - local: the parent of root must exist.
 * For every kind the resolved root must lie on the mount that was checked.
 * Throws LifeboatError USAGE for a destination that cannot be checked as written (no label or
 * UUID for a usb drive, root outside the mountpoint).
 */
export async function checkDestination(dest: Destination, probe: DeviceProbe): Promise<DestinationState> {
  switch (dest.kind) {
    case 'usb':
      return checkUsb(dest, probe);
    case 'nas':
      return checkNas(dest, probe);
    case 'local':
      return checkLocal(dest, probe);
    default:
      throw new LifeboatError('USAGE', `Cannot check destination '${(dest as Destination).name}': unknown kind`);
  }
}

function usage(dest: Destination, why: string): LifeboatError {
  return new LifeboatError('USAGE', `Cannot check destination '${dest.name}': ${why}`);
}

function requireRootInside(dest: Destination, mountpoint: string): void {
  if (!isInside(normalize(dest.root), normalize(mountpoint))) {
    throw usage(dest, `its root ${dest.root} is not inside its mountpoint ${mountpoint}`);
  }
}

/** Checks that the resolved root is on `mount`; returns a not-mounted reason otherwise. */
async function rootEscapes(dest: Destination, mount: MountEntry, mounts: readonly MountEntry[]): Promise<{ root: string; why?: string }> {
  const root = await resolvePath(dest.root);
  const holder = findMount(root.path, mounts);
  if (holder?.id === mount.id) return { root: root.path };
  const where = holder === undefined ? 'no mount' : holder.mountPoint === '/' ? 'the root filesystem' : `${holder.mountPoint}`;
  return {
    root: root.path,
    why: `${dest.root} resolves to ${root.path}, which is on ${where} rather than on ${mount.mountPoint}: nothing will be written there`,
  };
}

async function checkUsb(dest: Destination, probe: DeviceProbe): Promise<DestinationState> {
  if (dest.label === undefined && dest.uuid === undefined) throw usage(dest, 'a usb destination needs a label or a UUID');
  if (dest.mountpoint === undefined) throw usage(dest, 'a usb destination needs a mountpoint');
  requireRootInside(dest, dest.mountpoint);
  const name = driveName(dest);
  const canon = deviceCanon();
  const [devices, mounts] = await Promise.all([probe.blkid(), probe.mountinfo().then(parseMountinfo)]);

  const labelOk = (d: BlkidEntry): boolean => dest.label === undefined || d.label === dest.label;
  const uuidOk = (d: BlkidEntry): boolean => dest.uuid === undefined || sameUuid(d.uuid, dest.uuid);
  // A configured UUID is the operator's word and is checked first; the enrolled one after it.
  const enrolledUuid = dest.uuid === undefined ? dest.enrolled?.uuid : undefined;
  const configured = devices.filter((d) => labelOk(d) && uuidOk(d));
  const exact = enrolledUuid === undefined ? configured : configured.filter((d) => sameUuid(d.uuid, enrolledUuid));
  if (exact.length === 0 && configured[0] !== undefined && dest.enrolled !== undefined) return impostor(dest, configured[0], dest.enrolled);
  if (exact.length === 0) {
    const near = devices.find(
      (d) => (dest.label !== undefined && d.label === dest.label) || (dest.uuid !== undefined && sameUuid(d.uuid, dest.uuid)),
    );
    if (near === undefined) return { state: 'absent', why: `${sentence(name)} is not plugged in` };
    const found = foundOf(near);
    const why =
      dest.label !== undefined && near.label === dest.label
        ? `A drive labelled ${dest.label} is plugged in (${near.device}), but its UUID is ${near.uuid ?? 'missing'}, not ${dest.uuid}: it is a different drive with the same label, refusing to write to it`
        : `The drive with UUID ${dest.uuid} is plugged in (${near.device}), but it is labelled ${near.label ?? '(no label)'}, not ${dest.label}: refusing to write to it until label and UUID agree`;
    return { state: 'wrong-drive', why, found };
  }

  const mp = await resolvePath(dest.mountpoint);
  const atMp = mp.exists && isMountPoint(mp.path, mounts) ? findMount(mp.path, mounts) : undefined;
  const atMpDev = atMp !== undefined ? await canon(atMp.source) : undefined;
  let mine: BlkidEntry | undefined;
  for (const d of exact) if (atMpDev !== undefined && (await canon(d.device)) === atMpDev) mine = d;
  const single = exact.length === 1 ? exact[0] : undefined;

  if (atMp === undefined || mine === undefined) {
    const deviceField = single !== undefined ? { device: single.device } : {};
    if (exact.length > 1 && mine === undefined) {
      const list = exact.map((d) => d.device).join(', ');
      return {
        state: 'not-mounted',
        why: `${exact.length} drives matching ${name} are plugged in (${list}): configure the UUID so the right one is chosen; nothing will be written meanwhile`,
      };
    }
    if (atMp !== undefined && atMpDev !== undefined) {
      // Something else is mounted at the mountpoint: name it if it is a drive we can identify.
      let other: BlkidEntry | undefined;
      for (const d of devices) if ((await canon(d.device)) === atMpDev) other = d;
      if (other !== undefined && dest.enrolled !== undefined && dest.label !== undefined && other.label === dest.label) return impostor(dest, other, dest.enrolled);
      if (other !== undefined && (other.label !== undefined || other.uuid !== undefined)) {
        return {
          state: 'wrong-drive',
          why: `${mp.path} holds drive ${describeDrive(other)}, not ${name}: refusing to write to it`,
          found: foundOf(other),
        };
      }
      return {
        state: 'not-mounted',
        ...deviceField,
        why: `${mp.path} is a mount of ${atMp.source} (${atMp.fsType}), not of ${name}: nothing will be written there`,
      };
    }
    if (!mp.exists) {
      return { state: 'not-mounted', ...deviceField, why: `${sentence(name)} is plugged in, but its mountpoint ${dest.mountpoint} does not exist: nothing will be written there` };
    }
    const dev = single !== undefined ? await canon(single.device) : undefined;
    const elsewhere: string[] = [];
    for (const m of mounts) if (dev !== undefined && (await canon(m.source)) === dev) elsewhere.push(m.mountPoint);
    if (elsewhere.length > 0) {
      return {
        state: 'not-mounted',
        ...deviceField,
        why: `${sentence(name)} is mounted at ${elsewhere.join(', ')}, not at ${mp.path}: nothing will be written there`,
      };
    }
    return {
      state: 'not-mounted',
      ...deviceField,
      why: `${sentence(name)} is plugged in (${single?.device ?? 'unknown device'}), but ${mp.path} is not a mount point: nothing will be written there`,
    };
  }

  const root = await rootEscapes(dest, atMp, mounts);
  if (root.why !== undefined) return { state: 'not-mounted', device: mine.device, why: root.why };
  if (!isReadWrite(atMp)) {
    return { state: 'read-only', why: `${sentence(name)} is mounted read-only at ${atMp.mountPoint}: nothing can be written to it` };
  }
  return {
    state: 'ready',
    root: root.root,
    mountPoint: atMp.mountPoint,
    device: mine.device,
    ...(mine.label !== undefined ? { label: mine.label } : {}),
    ...(mine.uuid !== undefined ? { uuid: mine.uuid } : {}),
  };
}

async function checkNas(dest: Destination, probe: DeviceProbe): Promise<DestinationState> {
  if (dest.mountpoint !== undefined) requireRootInside(dest, dest.mountpoint);
  const mounts = parseMountinfo(await probe.mountinfo());
  const configured = dest.mountpoint ?? dest.path ?? dest.root;
  const target = await resolvePath(configured);
  if (dest.mountpoint !== undefined && !(target.exists && isMountPoint(target.path, mounts))) {
    const why = target.exists
      ? `${target.path} is not a mount point: the share of '${dest.name}' is not mounted, nothing will be written there`
      : `${dest.mountpoint} does not exist: the share of '${dest.name}' is not mounted, nothing will be written there`;
    return { state: 'not-mounted', why };
  }
  const m = findMount(target.path, mounts);
  const rootFs = findMount('/', mounts);
  if (m === undefined || m.mountPoint === '/') {
    return { state: 'not-mounted', why: `${configured} is on the root filesystem, not on a mounted share: nothing will be written there` };
  }
  if (m.fsType === 'autofs') {
    return { state: 'not-mounted', why: `${m.mountPoint} is an automount point whose share is not mounted: nothing will be written there` };
  }
  if (rootFs !== undefined && m.majorMinor === rootFs.majorMinor) {
    return {
      state: 'not-mounted',
      why: `${m.mountPoint} is a bind mount of the root filesystem, not a share: nothing will be written there`,
    };
  }
  const root = await rootEscapes(dest, m, mounts);
  if (root.why !== undefined) return { state: 'not-mounted', why: root.why };
  if (!isReadWrite(m)) {
    return { state: 'read-only', why: `The share at ${m.mountPoint} is mounted read-only: nothing can be written to it` };
  }
  return { state: 'ready', root: root.root, mountPoint: m.mountPoint, device: m.source };
}

async function checkLocal(dest: Destination, probe: DeviceProbe): Promise<DestinationState> {
  const parent = await resolvePath(dirname(normalize(dest.root)));
  if (!parent.exists) {
    return { state: 'absent', why: `${dirname(normalize(dest.root))} does not exist, so ${dest.root} cannot be created there` };
  }
  const mounts = parseMountinfo(await probe.mountinfo());
  const root = await resolvePath(dest.root);
  const m = findMount(root.path, mounts);
  if (m === undefined) return { state: 'absent', why: `${root.path} is on no mounted filesystem` };
  if (!isReadWrite(m)) return { state: 'read-only', why: `${m.mountPoint}, which holds ${dest.root}, is mounted read-only` };
  return { state: 'ready', root: root.path, mountPoint: m.mountPoint, device: m.source };
}
