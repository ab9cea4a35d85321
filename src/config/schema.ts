/**
 * The shape of lifeboat.yaml as the operator writes it, in zod: types, choices, required keys,
 * strict objects (a misspelt key is a problem, never silently ignored) and the checks that
 * need one value only (absolute paths, frequencies, durations, exclude patterns). Rules that
 * tie keys together (paths or command, exactly one password source, known destination names)
 * live in normalise.ts and validate.ts; defaults live in normalise.ts, not here, so this schema
 * is also the honest JSON Schema of the file (configJsonSchema).
 *
 * Custom checks put `{ code, hint }` in the zod issue's params; regex checks are explained by
 * FORMAT_MESSAGES, keyed by the pattern zod reports.
 */
import { z } from 'zod';
import { patternProblem } from '../core/filter/index.ts';
import { parseDuration, parseFrequency } from './calendar.ts';
import type { ProblemCode } from './problem.ts';

export const NAME_PATTERN = /^[a-z0-9][a-z0-9_-]*$/;
const ABSOLUTE_PATTERN = /^\//;
const UUID_PATTERN = /^[0-9A-Fa-f]+(-[0-9A-Fa-f]+)*$/;

export const PRIORITIES = ['critical', 'high', 'medium', 'low'] as const;
export const DESTINATION_KINDS = ['usb', 'nas', 'local'] as const;
export const FORMATS = ['repository', 'mirror'] as const;

export const FORMAT_MESSAGES: ReadonlyMap<string, { readonly message: string; readonly hint: string }> = new Map([
  [String(ABSOLUTE_PATTERN), { message: 'must be an absolute path', hint: 'start it with /' }],
  [
    String(NAME_PATTERN),
    { message: 'is not a valid name', hint: "names use lowercase letters, digits, '-' and '_', and start with a letter or digit" },
  ],
  [String(UUID_PATTERN), { message: 'is not a filesystem UUID', hint: 'copy it from `lsblk -o NAME,LABEL,UUID` or `blkid`' }],
]);

/** Params a custom check puts on its zod issue. */
export interface CheckParams {
  readonly code: ProblemCode;
  readonly hint: string | undefined;
}

type Verdict = { readonly code: ProblemCode; readonly message: string; readonly hint?: string | undefined } | undefined;

function checked<T extends z.ZodType>(schema: T, check: (value: z.output<T>) => Verdict): T {
  return schema.superRefine((value, ctx) => {
    const verdict = check(value);
    if (verdict === undefined) return;
    const params: CheckParams = { code: verdict.code, hint: verdict.hint };
    ctx.addIssue({ code: 'custom', message: verdict.message, params: { ...params } });
  });
}

const absolutePath = (description: string) => z.string().regex(ABSOLUTE_PATTERN).meta({ description });

const command = (description: string) =>
  checked(z.union([z.string(), z.array(z.string())]), (v) =>
    (typeof v === 'string' ? v.trim() === '' : v.length === 0 || v.some((a) => a === ''))
      ? { code: 'BAD_VALUE', message: 'the command is empty', hint: 'write the command line, or a list: [program, arg, ...]' }
      : undefined,
  ).meta({ description });

const frequency = checked(z.string(), (v) => {
  const r = parseFrequency(v);
  return r.ok ? undefined : { code: 'BAD_FREQUENCY', message: r.reason, hint: r.hint };
}).meta({
  description: 'hourly | daily | weekly | monthly | manual, or a systemd OnCalendar expression',
  examples: ['daily', 'Mon *-*-* 03:00', 'Sat,Sun 04:00', '*:0/15'],
});

const duration = (description: string) =>
  checked(z.string(), (v) => {
    const r = parseDuration(v);
    return r.ok ? undefined : { code: 'BAD_DURATION', message: r.reason, hint: r.hint };
  }).meta({ description, examples: ['36h', '7d', '2w', '1y6m'] });

const excludePattern = checked(z.string(), (v) => {
  const problem = patternProblem(v);
  return problem === undefined
    ? undefined
    : { code: 'BAD_PATTERN', message: `invalid exclude pattern "${v}": ${problem}`, hint: "escape a literal '[', ']', '*', '?' or '\\' with a backslash" };
});

const tag = checked(z.string(), (v) =>
  v === '' || v.includes(',') ? { code: 'BAD_VALUE', message: `"${v}" is not a usable tag`, hint: 'tags are non-empty and contain no comma' } : undefined,
);

const fileName = checked(z.string(), (v) =>
  v === '' || v === '.' || v === '..' || v.includes('/') || v.includes('\0')
    ? { code: 'BAD_VALUE', message: `"${v}" is not a plain file name`, hint: 'a name like postgres.sql, without /' }
    : undefined,
).meta({ description: 'Name the command output is stored under in the backup (required with command)' });

const subdir = checked(z.string(), (v) =>
  v.startsWith('/') || v.split('/').includes('..')
    ? { code: 'BAD_VALUE', message: `"${v}" must be a relative path inside the destination`, hint: 'no leading / and no ..' }
    : undefined,
).meta({ description: 'Directory inside the mount (usb: default "lifeboat") or inside path (nas, local: default none)' });

export const SourceSchema = z
  .strictObject({
    paths: z.array(absolutePath('A file or directory to back up')).min(1).optional().meta({ description: 'Absolute paths to back up (or use command)' }),
    command: command('Run it and store its standard output as one file: a string runs via /bin/sh -c, a list runs the program directly').optional(),
    filename: fileName.optional(),
    priority: z.enum(PRIORITIES).meta({ description: 'critical and high sources should go to two destinations on different devices' }),
    frequency,
    destinations: z.array(z.string()).min(1).meta({ description: 'Names of destinations (keys of the top-level destinations map)' }),
    exclude: z.array(excludePattern).optional().meta({ description: 'restic exclude patterns, taken literally (no $VAR expansion)' }),
    exclude_from: z
      .union([absolutePath('An exclude file'), z.array(absolutePath('An exclude file'))])
      .optional()
      .meta({ description: 'restic exclude files (one pattern a line, $VAR expanded); each must exist' }),
    sensitive: z.boolean().optional().meta({ description: 'Never store unencrypted (no mirror destinations); default false' }),
    age_identity: absolutePath(
      'An age identity file (as age-keygen writes it: AGE-SECRET-KEY-1... lines, # comments). Drills decrypt the age and SOPS files of this source with it, to prove the key still opens them',
    ).optional(),
    must_be_mountpoint: z.boolean().optional().meta({ description: 'Refuse to back up a path that is not a mounted filesystem; default false' }),
    min_files: z.number().int().min(0).optional().meta({ description: 'Refuse to back up fewer files than this (an empty, unmounted dir); default 0' }),
    tags: z.array(tag).optional().meta({ description: 'Extra snapshot tags' }),
  })
  .meta({ description: 'A data source: paths or a command, where it goes and how often' });

const keep = (what: string) => z.number().int().min(0).optional().meta({ description: `Keep the last snapshot of each of the last N ${what}` });

export const RetentionSchema = z
  .strictObject({
    keep_last: z.number().int().min(0).optional().meta({ description: 'Keep the N most recent snapshots' }),
    keep_hourly: keep('hours'),
    keep_daily: keep('days'),
    keep_weekly: keep('weeks'),
    keep_monthly: keep('months'),
    keep_yearly: keep('years'),
    keep_within: duration('Keep every snapshot younger than this').optional(),
    keep_tags: z.array(tag).optional().meta({ description: 'Keep every snapshot carrying one of these tags' }),
  })
  .meta({ description: 'Which snapshots forget keeps (restic semantics); without it nothing is forgotten' });

const common = {
  format: z.enum(FORMATS).optional().meta({ description: 'repository (encrypted, versioned; default) or mirror (plain copy)', default: 'repository' }),
  subdir: subdir.optional(),
  password_file: absolutePath('File holding the repository password (repository only)').optional(),
  password_command: command('Command printing the repository password (repository only)').optional(),
  retention: RetentionSchema.optional(),
  stale_after: duration('A destination not written for longer than this is STALE').optional(),
};

export const UsbDestinationSchema = z.strictObject({
  kind: z.literal('usb'),
  label: z.string().min(1).optional().meta({ description: 'Filesystem label of the drive (label and/or uuid)' }),
  uuid: z.string().regex(UUID_PATTERN).optional().meta({ description: 'Filesystem UUID of the drive (label and/or uuid)' }),
  mountpoint: absolutePath('Where the drive is mounted; default /mnt/lifeboat/<label or name>').optional(),
  ...common,
});

export const NasDestinationSchema = z.strictObject({
  kind: z.literal('nas'),
  path: absolutePath('Directory of the repository or mirror, on a mounted filesystem'),
  mountpoint: absolutePath('The mount that must be mounted; default: the mount holding path').optional(),
  ...common,
});

export const LocalDestinationSchema = z.strictObject({
  kind: z.literal('local'),
  path: absolutePath('Directory of the repository or mirror'),
  ...common,
});

export const DestinationSchema = z
  .discriminatedUnion('kind', [UsbDestinationSchema, NasDestinationSchema, LocalDestinationSchema])
  .meta({ description: 'Where copies go: a USB drive, a NAS mount or a local directory' });

const names = <T extends z.ZodType>(value: T) => z.record(z.string().regex(NAME_PATTERN), value);

export const ConfigFileSchema = z
  .strictObject({
    state_dir: absolutePath('Where lifeboat keeps run history; default /var/lib/lifeboat').optional(),
    hostname: z.string().min(1).optional().meta({ description: "Host name recorded in snapshots; default the machine's" }),
    destinations: names(DestinationSchema).meta({ description: 'Destinations by name' }),
    sources: names(SourceSchema).meta({ description: 'Sources by name' }),
  })
  .meta({ title: 'lifeboat configuration', description: 'lifeboat.yaml: sources, destinations and where each source goes' });

export type ConfigFile = z.infer<typeof ConfigFileSchema>;
export type SourceInput = z.infer<typeof SourceSchema>;
export type DestinationInput = z.infer<typeof DestinationSchema>;
export type RetentionInput = z.infer<typeof RetentionSchema>;

/** The keys allowed in the map at `path` of `data`, for "did you mean" (undefined: no strict map there). */
export function knownKeysAt(path: readonly PropertyKey[], data: unknown): readonly string[] | undefined {
  if (path.length === 0) return Object.keys(ConfigFileSchema.shape);
  const [top, , field] = path;
  if (top === 'sources' && path.length === 2) return Object.keys(SourceSchema.shape);
  if (top === 'destinations' && path.length === 2) return Object.keys(destinationShape(kindAt(path, data)));
  if (top === 'destinations' && path.length === 3 && field === 'retention') return Object.keys(RetentionSchema.shape);
  return undefined;
}

/** Destination kinds whose schema has `key`. */
export function kindsWithKey(key: string): string[] {
  return DESTINATION_KINDS.filter((k) => key in destinationShape(k));
}

export function destinationShape(kind: string | undefined): Readonly<Record<string, z.ZodType>> {
  if (kind === 'usb') return UsbDestinationSchema.shape;
  if (kind === 'nas') return NasDestinationSchema.shape;
  return LocalDestinationSchema.shape;
}

function kindAt(path: readonly PropertyKey[], data: unknown): string | undefined {
  let node: unknown = data;
  for (const segment of path) node = isRecord(node) ? node[String(segment)] : undefined;
  return isRecord(node) && typeof node.kind === 'string' ? node.kind : undefined;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** JSON Schema (draft 2020-12) of lifeboat.yaml, for `lifeboat config schema` and editors. */
export function configJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(ConfigFileSchema, { target: 'draft-2020-12', unrepresentable: 'any' }) as Record<string, unknown>;
}
