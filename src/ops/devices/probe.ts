/**
 * DeviceProbe: everything the devices module asks of the machine (mount table, block devices,
 * mount/umount, sync, power-off, free space), behind one small interface so the decisions above
 * it are plain functions of what the probe says. systemProbe() is the real one: util-linux tools
 * spawned with argument arrays, /proc/self/mountinfo read directly.
 */
import { readFile, statfs } from 'node:fs/promises';
import { LifeboatError } from '../../core/errors.ts';
import { isNotInstalled, runCommand } from './run-command.ts';

/** One block device as `blkid -o export` reports it. */
export interface BlkidEntry {
  readonly device: string;
  readonly label?: string;
  readonly uuid?: string;
  /** Filesystem type (`ext4`, `vfat`, ...). */
  readonly type?: string;
  /** Every KEY=value pair blkid printed, decoded. */
  readonly fields: Readonly<Record<string, string>>;
}

/**
 * One block device as lsblk reports it, children flattened (a partition follows its disk and
 * names it in `parent`). Without a udev database label, uuid and fsType are missing: take those
 * from blkid.
 */
export interface LsblkEntry {
  readonly name: string;
  readonly path: string;
  readonly parent?: string;
  readonly label?: string;
  readonly uuid?: string;
  readonly fsType?: string;
  readonly mountpoint?: string;
  readonly removable: boolean;
  readonly hotplug: boolean;
  /** Transport: `usb`, `sata`, `nvme`, ...; missing for loop and virtual devices. */
  readonly transport?: string;
  readonly sizeBytes?: number;
}

export interface MountOptions {
  readonly readOnly?: boolean;
  /** Filesystem type to pass as `-t`; without it mount(8) asks libblkid. */
  readonly fsType?: string;
  /** Extra `-o` options such as `nosuid`, `nodev`. */
  readonly options?: readonly string[];
}

export interface DeviceProbe {
  /** Text of /proc/self/mountinfo. */
  mountinfo(): Promise<string>;
  /** Every block device with a recognised signature, probed fresh (no blkid cache). */
  blkid(): Promise<BlkidEntry[]>;
  lsblk(): Promise<LsblkEntry[]>;
  mount(dev: string, dir: string, opts?: MountOptions): Promise<void>;
  umount(dir: string): Promise<void>;
  /** Flushes dirty data: of the filesystem holding `path` when given (syncfs), else of every filesystem. */
  sync(path?: string): Promise<void>;
  /** Spins the drive down and detaches it; `done: false` with a note when that is not possible here. */
  powerOff(dev: string): Promise<{ done: boolean; note?: string }>;
  /** Bytes available to unprivileged writers, and the filesystem size. */
  statfs(path: string): Promise<{ free: number; total: number }>;
}

/**
 * Decodes the value of one `KEY=value` line of `blkid -o export`, which escapes shell
 * metacharacters (space, quotes, `$`, backslash, ...) with a backslash.
 */
function unescapeExportValue(v: string): string {
  return v.replace(/\\(.)/gs, '$1');
}

/**
 * Parses `blkid -o export`: blocks of KEY=value lines separated by blank lines, each starting with
 * DEVNAME. Unknown keys are kept in `fields`; malformed lines and blocks without DEVNAME are
 * skipped.
 */
export function parseBlkidExport(text: string): BlkidEntry[] {
  const entries: BlkidEntry[] = [];
  let fields: Record<string, string> = {};
  const flush = (): void => {
    const device = fields['DEVNAME'];
    if (device !== undefined && device !== '') {
      entries.push({
        device,
        ...(fields['LABEL'] !== undefined ? { label: fields['LABEL'] } : {}),
        ...(fields['UUID'] !== undefined ? { uuid: fields['UUID'] } : {}),
        ...(fields['TYPE'] !== undefined ? { type: fields['TYPE'] } : {}),
        fields,
      });
    }
    fields = {};
  };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') {
      flush();
      continue;
    }
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const key = line.slice(0, eq);
    if (!/^[A-Z_][A-Z0-9_]*$/.test(key)) continue;
    // A DEVNAME in the middle of a block starts the next device even without a blank line.
    if (key === 'DEVNAME' && fields['DEVNAME'] !== undefined) flush();
    fields[key] = unescapeExportValue(line.slice(eq + 1));
  }
  flush();
  return entries;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function bool(v: unknown): boolean {
  // lsblk < 2.33 printed "0"/"1" strings instead of JSON booleans.
  return v === true || v === '1' || v === 1;
}

/** Parses `lsblk --json -b -o NAME,PATH,LABEL,UUID,FSTYPE,MOUNTPOINT,RM,HOTPLUG,TRAN,SIZE`. */
export function parseLsblkJson(text: string): LsblkEntry[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new LifeboatError('IO', 'Cannot list block devices: lsblk printed something that is not JSON', { cause: e });
  }
  const out: LsblkEntry[] = [];
  const walk = (nodes: unknown, parent: string | undefined): void => {
    if (!Array.isArray(nodes)) return;
    for (const n of nodes as unknown[]) {
      if (typeof n !== 'object' || n === null) continue;
      const o = n as Record<string, unknown>;
      const name = str(o['name']);
      if (name === undefined) continue;
      const path = str(o['path']) ?? `/dev/${name}`;
      const size = typeof o['size'] === 'number' ? o['size'] : Number(o['size']);
      const label = str(o['label']);
      const uuid = str(o['uuid']);
      const fsType = str(o['fstype']);
      const mountpoint = str(o['mountpoint']);
      const transport = str(o['tran']);
      out.push({
        name,
        path,
        ...(parent !== undefined ? { parent } : {}),
        ...(label !== undefined ? { label } : {}),
        ...(uuid !== undefined ? { uuid } : {}),
        ...(fsType !== undefined ? { fsType } : {}),
        ...(mountpoint !== undefined ? { mountpoint } : {}),
        removable: bool(o['rm']),
        hotplug: bool(o['hotplug']),
        ...(transport !== undefined ? { transport } : {}),
        ...(Number.isFinite(size) ? { sizeBytes: size } : {}),
      });
      walk(o['children'], path);
    }
  };
  walk((doc as { blockdevices?: unknown } | null)?.blockdevices, undefined);
  return out;
}

export interface SystemProbeOptions {
  /** Upper bound for each tool run; a hung USB bridge must not hang the backup. Default 60 s. */
  readonly timeoutMs?: number;
}

/** The real probe: util-linux and udisks tools, /proc/self/mountinfo, statfs(2). Needs root for mount/umount. */
export function systemProbe(opts: SystemProbeOptions = {}): DeviceProbe {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  return {
    async mountinfo() {
      try {
        return await readFile('/proc/self/mountinfo', 'utf8');
      } catch (e) {
        throw new LifeboatError('IO', 'Cannot read the mount table /proc/self/mountinfo', { cause: e });
      }
    },
    async blkid() {
      // `-c /dev/null`: the cache in /run/blkid keeps devices that are long gone; probe afresh.
      // Exit code 2 means "no device has a recognised signature".
      const r = await runCommand('blkid', ['-c', '/dev/null', '-o', 'export'], { okCodes: [0, 2], timeoutMs });
      return parseBlkidExport(r.stdout);
    },
    async lsblk() {
      const cols = 'NAME,PATH,LABEL,UUID,FSTYPE,MOUNTPOINT,RM,HOTPLUG,TRAN,SIZE';
      const r = await runCommand('lsblk', ['--json', '--bytes', '-o', cols], { timeoutMs });
      return parseLsblkJson(r.stdout);
    },
    async mount(dev, dir, mopts = {}) {
      const o = [mopts.readOnly === true ? 'ro' : 'rw', ...(mopts.options ?? [])];
      const t = mopts.fsType !== undefined ? ['-t', mopts.fsType] : [];
      await runCommand('mount', [...t, '-o', o.join(','), '--', dev, dir], { timeoutMs });
    },
    async umount(dir) {
      await runCommand('umount', ['--', dir], { timeoutMs });
    },
    async sync(path) {
      await runCommand('sync', path !== undefined ? ['-f', '--', path] : [], { timeoutMs });
    },
    async powerOff(dev) {
      try {
        await runCommand('udisksctl', ['power-off', '--no-user-interaction', '-b', dev], { timeoutMs });
        return { done: true };
      } catch (e) {
        if (isNotInstalled(e)) {
          return { done: false, note: `udisksctl is not installed, so ${dev} was unmounted but not powered off` };
        }
        const why = e instanceof Error ? e.message : String(e);
        return { done: false, note: `${dev} was unmounted but not powered off: ${why}` };
      }
    },
    async statfs(path) {
      try {
        const s = await statfs(path);
        return { free: s.bavail * s.bsize, total: s.blocks * s.bsize };
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        throw new LifeboatError(code === 'ENOENT' ? 'NOT_FOUND' : 'IO', `Cannot measure free space at ${path}`, {
          cause: e,
        });
      }
    },
  };
}
