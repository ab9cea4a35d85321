/**
 * Plain data from the YAML -> the normalised Config, defaults applied.
 *
 * Works on what survives: each field of an entry is kept when it passes its own schema
 * (`salvage`), so one bad field neither hides the rest of its entry nor the other entries;
 * the schema has already reported it. An entry lacking what it cannot do without (a kind, a
 * priority, its paths) is left out of the Config. The Config is therefore only to be trusted
 * when the loader reports no problems.
 *
 * Reports what needs two keys at once, which a per-field schema cannot see: paths or command,
 * filename with command, exactly one password source for a repository and none for a mirror,
 * label or uuid for a usb drive, a nas path inside its mountpoint.
 */
import { posix } from 'node:path';
import type { z } from 'zod';
import { parseDuration, parseFrequency } from './calendar.ts';
import type { Command, Config, Destination, LocalPlace, MirrorFormat, NasPlace, PasswordSource, RepositoryFormat, Retention, Source, UsbPlace } from './config.ts';
import type { PathProblem } from './issues.ts';
import type { PathSegment } from './problem.ts';
import { ConfigFileSchema, destinationShape, isRecord, SourceSchema, type RetentionInput, type SourceInput } from './schema.ts';

export const DEFAULT_STATE_DIR = '/var/lib/lifeboat';
export const DEFAULT_USB_SUBDIR = 'lifeboat';
export const USB_MOUNT_BASE = '/mnt/lifeboat';

type Report = (problem: PathProblem) => void;

export function normalise(data: Record<string, unknown>, { file, report }: { readonly file: string; readonly report: Report }): Config {
  const top = salvage({ state_dir: ConfigFileSchema.shape.state_dir, hostname: ConfigFileSchema.shape.hostname }, data);
  const destinations = entries(data.destinations).flatMap(([name, raw]) => {
    const d = normaliseDestination(name, raw, report);
    return d === undefined ? [] : [d];
  });
  const sources = entries(data.sources).flatMap(([name, raw]) => {
    const s = normaliseSource(name, raw, report);
    return s === undefined ? [] : [s];
  });
  return {
    file,
    state_dir: typeof top.state_dir === 'string' && top.state_dir.startsWith('/') ? normalisePath(top.state_dir) : DEFAULT_STATE_DIR,
    hostname: typeof top.hostname === 'string' && top.hostname !== '' ? top.hostname : undefined,
    destinations,
    sources,
  };
}

function normaliseSource(name: string, raw: unknown, report: Report): Source | undefined {
  if (!isRecord(raw)) return undefined;
  const here: PathSegment[] = ['sources', name];
  const s = salvage(SourceSchema.shape, raw) as Partial<SourceInput>;
  const has = (key: string): boolean => Object.hasOwn(raw, key);
  const conflict = (key: string, message: string, hint?: string): void =>
    report({ code: 'CONFLICT', path: [...here, key], at: 'key', message, hint });

  if (has('paths') && has('command')) {
    conflict('command', 'a source has paths or a command, not both', 'split it into two sources');
  } else if (!has('paths') && !has('command')) {
    report({
      code: 'MISSING_FIELD',
      path: [...here, 'paths'],
      at: 'key',
      message: 'missing paths or command',
      hint: 'paths: [/dir] backs up files; command: ... stores what a command prints',
    });
  }
  if (has('command') && !has('paths')) {
    if (!has('filename')) {
      report({
        code: 'MISSING_FIELD',
        path: [...here, 'filename'],
        at: 'key',
        message: 'missing required field',
        hint: 'a command source stores its output as one file; name it, e.g. filename: postgres.sql',
      });
    }
    for (const key of ['exclude', 'exclude_from', 'must_be_mountpoint', 'min_files']) {
      if (has(key)) conflict(key, `${key} applies to sources with paths; a command source stores one file`);
    }
  } else if (has('filename') && !has('command')) {
    conflict('filename', 'filename applies to command sources', 'remove it; files keep their own names');
  }

  const frequency = s.frequency === undefined ? undefined : parsed(parseFrequency(s.frequency));
  if (s.priority === undefined || frequency === undefined || s.destinations === undefined) return undefined;
  const common = {
    name,
    priority: s.priority,
    frequency,
    destinations: [...new Set(s.destinations)],
    sensitive: s.sensitive ?? false,
    age_identity: s.age_identity === undefined ? undefined : normalisePath(s.age_identity),
    tags: s.tags ?? [],
  };
  if (s.paths !== undefined && !has('command')) {
    const excludeFrom = s.exclude_from === undefined ? [] : typeof s.exclude_from === 'string' ? [s.exclude_from] : s.exclude_from;
    return {
      ...common,
      kind: 'paths',
      paths: s.paths.map(normalisePath),
      exclude: s.exclude ?? [],
      exclude_from: excludeFrom.map(normalisePath),
      must_be_mountpoint: s.must_be_mountpoint ?? false,
      min_files: s.min_files ?? 0,
    };
  }
  if (s.command !== undefined && s.filename !== undefined && !has('paths')) {
    return { ...common, kind: 'command', command: toCommand(s.command), filename: s.filename };
  }
  return undefined;
}

function normaliseDestination(name: string, raw: unknown, report: Report): Destination | undefined {
  if (!isRecord(raw)) return undefined;
  const kind = raw.kind;
  if (kind !== 'usb' && kind !== 'nas' && kind !== 'local') return undefined;
  const fields = salvage(destinationShape(kind), raw);
  const entry: Entry = {
    name,
    raw,
    fields,
    here: ['destinations', name],
    report,
    has: (key) => Object.hasOwn(raw, key),
    str: (key) => (typeof fields[key] === 'string' ? (fields[key] as string) : undefined),
  };
  // Both halves check (and report) before either gives up: every problem at once.
  const place = placeOf(kind, entry);
  const storage = storageOf(entry);
  const stale = entry.fields.stale_after;
  const stale_after = typeof stale === 'string' ? parsed(parseDuration(stale)) : undefined;
  if (place === undefined || storage === undefined || (entry.has('stale_after') && stale_after === undefined)) return undefined;
  return { name, ...place, stale_after, ...storage };
}

interface Entry {
  readonly name: string;
  readonly raw: Record<string, unknown>;
  /** The fields that passed their own schema. */
  readonly fields: Record<string, unknown>;
  readonly here: readonly PathSegment[];
  readonly report: Report;
  has(key: string): boolean;
  str(key: string): string | undefined;
}

type Place = (UsbPlace | NasPlace | LocalPlace) & { readonly subdir: string; readonly root: string };

function placeOf(kind: 'usb' | 'nas' | 'local', e: Entry): Place | undefined {
  const subdirText = e.str('subdir');
  if (kind === 'usb') {
    const label = e.str('label');
    const uuid = e.str('uuid');
    if (!e.has('label') && !e.has('uuid')) {
      e.report({ code: 'MISSING_FIELD', path: [...e.here, 'label'], at: 'key', message: 'a usb destination needs label or uuid', hint: 'find them with `lsblk -o NAME,LABEL,UUID`' });
    }
    if (label === undefined && uuid === undefined) return undefined;
    const given = e.str('mountpoint');
    const mountpoint = given !== undefined ? normalisePath(given) : `${USB_MOUNT_BASE}/${label !== undefined && fitsInPath(label) ? label : e.name}`;
    const subdir = cleanSubdir(subdirText ?? DEFAULT_USB_SUBDIR);
    return { kind, label, uuid, mountpoint, subdir, root: join(mountpoint, subdir) };
  }
  const path = e.str('path');
  if (path === undefined) return undefined;
  const base = normalisePath(path);
  const subdir = cleanSubdir(subdirText ?? '');
  if (kind === 'local') return { kind, path: base, subdir, root: join(base, subdir) };
  const mp = e.str('mountpoint');
  const mountpoint = mp === undefined ? undefined : normalisePath(mp);
  if (mountpoint !== undefined && !isInside(base, mountpoint)) {
    e.report({ code: 'BAD_VALUE', path: [...e.here, 'path'], at: 'value', message: `${base} is not inside the mountpoint ${mountpoint}`, hint: 'path is where the repository lives on that mount' });
    return undefined;
  }
  return { kind, path: base, mountpoint, subdir, root: join(base, subdir) };
}

function storageOf(e: Entry): RepositoryFormat | MirrorFormat | undefined {
  const conflict = (key: string, message: string, hint?: string): void =>
    e.report({ code: 'CONFLICT', path: [...e.here, key], at: 'key', message, hint });
  if (e.fields.format === 'mirror') {
    for (const key of ['password_file', 'password_command']) {
      if (e.has(key)) conflict(key, 'a mirror is a plain copy and takes no password', 'remove it, or use format: repository');
    }
    if (e.has('retention')) conflict('retention', 'a mirror keeps only the latest copy; retention applies to repositories', 'remove it, or use format: repository');
    return { format: 'mirror' };
  }
  if (e.has('format') && e.fields.format === undefined) return undefined; // a bad format: reported by the schema
  if (e.has('password_file') && e.has('password_command')) {
    conflict('password_command', 'give password_file or password_command, not both');
    return undefined;
  }
  if (!e.has('password_file') && !e.has('password_command')) {
    e.report({
      code: 'MISSING_FIELD',
      path: [...e.here, 'password_file'],
      at: 'key',
      message: 'a repository needs password_file or password_command',
      hint: `e.g. password_file: /run/secrets/lifeboat-${e.name}; or format: mirror for an unencrypted copy`,
    });
    return undefined;
  }
  const file = e.str('password_file');
  const command = e.fields.password_command as string | string[] | undefined;
  const password: PasswordSource | undefined =
    file !== undefined ? { kind: 'file', path: normalisePath(file) } : command !== undefined ? { kind: 'command', command: toCommand(command) } : undefined;
  // A retention that failed its schema is not in `fields`; without it the entry is unusable.
  const retention = e.fields.retention === undefined ? undefined : toRetention(e.fields.retention as RetentionInput);
  if (password === undefined || (e.has('retention') && retention === undefined)) return undefined;
  return { format: 'repository', password, retention };
}

/** A drive label usable as one path component. */
function fitsInPath(label: string): boolean {
  return /^[A-Za-z0-9._-]+$/.test(label) && label !== '.' && label !== '..';
}

/** undefined when keep_within does not parse (the schema has reported it). */
function toRetention(r: RetentionInput): Retention | undefined {
  const within = r.keep_within === undefined ? undefined : parsed(parseDuration(r.keep_within));
  if (r.keep_within !== undefined && within === undefined) return undefined;
  return {
    keep_last: r.keep_last ?? 0,
    keep_hourly: r.keep_hourly ?? 0,
    keep_daily: r.keep_daily ?? 0,
    keep_weekly: r.keep_weekly ?? 0,
    keep_monthly: r.keep_monthly ?? 0,
    keep_yearly: r.keep_yearly ?? 0,
    keep_within: within,
    keep_tags: r.keep_tags ?? [],
  };
}

export function toCommand(command: string | readonly string[]): Command {
  if (typeof command === 'string') return { argv: ['/bin/sh', '-c', command], shell: true, text: command };
  const [program, ...args] = command;
  return { argv: [program ?? '', ...args], shell: false, text: command.join(' ') };
}

/** Absolute path without `.`/`..`/doubled slashes or a trailing '/'. */
export function normalisePath(path: string): string {
  const clean = posix.normalize(path);
  return clean.length > 1 && clean.endsWith('/') ? clean.slice(0, -1) : clean;
}

function cleanSubdir(subdir: string): string {
  const clean = posix.normalize(subdir === '' ? '.' : subdir).replace(/\/$/, '');
  return clean === '.' ? '' : clean;
}

function join(base: string, subdir: string): string {
  return subdir === '' ? base : posix.join(base, subdir);
}

/** Whether `path` is `dir` or below it. */
export function isInside(path: string, dir: string): boolean {
  return path === dir || dir === '/' || path.startsWith(`${dir}/`);
}

function parsed<T>(r: { ok: true; value: T } | { ok: false }): T | undefined {
  return r.ok ? r.value : undefined;
}

interface FieldSchema {
  safeParse(value: unknown): { success: true; data: unknown } | { success: false };
}

/** The fields of `raw` that pass their own schema; the others are dropped (already reported). */
function salvage(shape: Readonly<Record<string, FieldSchema | z.ZodType>>, raw: unknown): Record<string, unknown> {
  if (!isRecord(raw)) return {};
  const out: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(shape)) {
    if (!Object.hasOwn(raw, key)) continue;
    const r = (schema as FieldSchema).safeParse(raw[key]);
    if (r.success && r.data !== undefined) out[key] = r.data;
  }
  return out;
}

function entries(value: unknown): [string, unknown][] {
  return isRecord(value) ? Object.entries(value) : [];
}
