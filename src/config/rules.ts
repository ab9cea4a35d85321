/**
 * Policy: gaps in a valid coverage map, as warnings with stable codes. (What depends on this
 * machine's files, a missing source path or password file, live database files: machine-rules.ts.)
 *
 * - TOO_FEW_DESTINATIONS (warn): a critical or high source goes to fewer than two destinations.
 * - SAME_DEVICE (warn): it goes to two or more, but they are not on two independent devices.
 * - SENSITIVE_TO_MIRROR (error): a sensitive source goes to a mirror, which is unencrypted.
 *   Level 'error' lets `config check` fail on it; the config still loads.
 * - UNUSED_DESTINATION (warn): no source goes to a destination.
 * - OVERLAPPING_SOURCES (warn): one source's path is inside (or equal to) another's, so its
 *   files are stored twice; not when the outer source's own `exclude` patterns skip it.
 * - AGE_IDENTITY_MISSING (warn): a source's age_identity file does not exist (judged only when
 *   `fileExists` is given). Backups do not need it; the source's drills will fail until it is
 *   there, so a warning, not an error.
 *
 * Independence: `deviceOf` (when it knows both destinations; the loader asks the filesystem for
 * nas and local destinations, see path-facts.ts) decides. Otherwise two destinations are one
 * device when they are usb drives with the same label or the same uuid, or when their anchors
 * (usb: the mountpoint; nas: the mountpoint, else the path; local: the path) are equal or
 * nested. Two usb drives with
 * different labels that mount at the same place are different drives, as with rotation.
 */
import { compilePatterns } from '../core/filter/index.ts';
import type { Config, Destination, PathsSource, Source } from './config.ts';
import { isInside } from './normalise.ts';
import type { Position } from './parse.ts';

export type PolicyCode =
  | 'TOO_FEW_DESTINATIONS'
  | 'SAME_DEVICE'
  | 'SENSITIVE_TO_MIRROR'
  | 'UNUSED_DESTINATION'
  | 'OVERLAPPING_SOURCES'
  | 'AGE_IDENTITY_MISSING'
  // Judged from this machine's filesystem (machine-rules.ts):
  | 'SOURCE_PATH_MISSING'
  | 'PASSWORD_FILE_UNREADABLE'
  | 'LIVE_DATABASE_FILES';

export interface PolicyWarning {
  readonly code: PolicyCode;
  readonly level: 'error' | 'warn';
  readonly message: string;
  readonly hint: string | undefined;
  /** Names involved. */
  readonly sources: readonly string[];
  readonly destinations: readonly string[];
  /** Dotted YAML path of the place to change. */
  readonly path: string;
  /** Where `path` is in the file; set by the loader, undefined from policyWarnings alone. */
  readonly location: (Position & { readonly file: string }) | undefined;
}

export interface PolicyOptions {
  /** A device identity per destination name (e.g. "8:17" or a filesystem UUID); undefined: unknown. */
  readonly deviceOf?: (destination: string) => string | undefined;
  /** Whether a file exists (age identities); undefined: not judged. */
  readonly fileExists?: (path: string) => boolean;
}

const NEEDS_TWO = new Set(['critical', 'high']);

export function policyWarnings(config: Config, options: PolicyOptions = {}): PolicyWarning[] {
  const out: PolicyWarning[] = [];
  const byName = new Map(config.destinations.map((d) => [d.name, d]));
  const warn = (w: Omit<PolicyWarning, 'location'>): void => {
    out.push({ ...w, location: undefined });
  };

  for (const source of config.sources) {
    const dests = source.destinations.flatMap((n) => byName.get(n) ?? []);
    if (NEEDS_TWO.has(source.priority)) independence(source, dests, options, warn);
    if (source.sensitive) {
      source.destinations.forEach((name, i) => {
        if (byName.get(name)?.format !== 'mirror') return;
        warn({
          code: 'SENSITIVE_TO_MIRROR',
          level: 'error',
          message: `sensitive source "${source.name}" goes to mirror "${name}", which stores files unencrypted`,
          hint: 'send it to an encrypted repository destination instead, or set sensitive: false if it is not sensitive',
          sources: [source.name],
          destinations: [name],
          path: `sources.${source.name}.destinations.${i}`,
        });
      });
    }
    if (source.age_identity !== undefined && options.fileExists?.(source.age_identity) === false) {
      warn({
        code: 'AGE_IDENTITY_MISSING',
        level: 'warn',
        message: `age identity ${source.age_identity} of source "${source.name}" does not exist, so its drills cannot decrypt its age and SOPS files`,
        hint: 'point it at the key file age-keygen wrote (with sops-nix often /var/lib/sops-nix/key.txt), or remove age_identity',
        sources: [source.name],
        destinations: [],
        path: `sources.${source.name}.age_identity`,
      });
    }
  }

  const used = new Set(config.sources.flatMap((s) => s.destinations));
  for (const d of config.destinations) {
    if (used.has(d.name)) continue;
    warn({
      code: 'UNUSED_DESTINATION',
      level: 'warn',
      message: `destination "${d.name}" is not used by any source`,
      hint: "add it to a source's destinations, or remove it",
      sources: [],
      destinations: [d.name],
      path: `destinations.${d.name}`,
    });
  }

  overlaps(config.sources, warn);
  return out;
}

function independence(source: Source, dests: readonly Destination[], options: PolicyOptions, warn: (w: Omit<PolicyWarning, 'location'>) => void): void {
  const names = dests.map((d) => d.name);
  const path = `sources.${source.name}.destinations`;
  if (dests.length < 2) {
    warn({
      code: 'TOO_FEW_DESTINATIONS',
      level: 'warn',
      message: `${source.priority} source "${source.name}" goes to ${dests.length === 0 ? 'no destination' : `only "${names[0] ?? ''}"`}; ${source.priority} sources need two, on different devices`,
      hint: 'add a second destination on another device, e.g. a USB drive and a NAS',
      sources: [source.name],
      destinations: names,
      path,
    });
    return;
  }
  // Group the destinations into devices, transitively (a and b both nested in c: one device).
  let groups: Destination[][] = [];
  let reason: string | undefined;
  for (const d of dests) {
    const related = groups.filter((g) =>
      g.some((other) => {
        const why = sameDevice(other, d, options); // in config order, for the message
        reason ??= why;
        return why !== undefined;
      }),
    );
    groups = [...groups.filter((g) => !related.includes(g)), [d, ...related.flat()]];
  }
  if (groups.length >= 2) return;
  warn({
    code: 'SAME_DEVICE',
    level: 'warn',
    message: `${source.priority} source "${source.name}" goes to ${names.join(' and ')}, which are on one device (${reason ?? 'same device'})`,
    hint: 'one lost drive or share loses every copy; add a destination on another device',
    sources: [source.name],
    destinations: names,
    path,
  });
}

/** Why a and b are the same device, or undefined when they are independent. */
export function sameDevice(a: Destination, b: Destination, options: PolicyOptions = {}): string | undefined {
  const da = options.deviceOf?.(a.name);
  const db = options.deviceOf?.(b.name);
  if (da !== undefined && db !== undefined) return da === db ? `both on device ${da}: ${anchor(a)} and ${anchor(b)} are on one filesystem` : undefined;
  if (a.kind === 'usb' && b.kind === 'usb') {
    if (a.label !== undefined && a.label === b.label) return `same drive label ${a.label}`;
    if (a.uuid !== undefined && a.uuid.toLowerCase() === b.uuid?.toLowerCase()) return `same drive uuid ${a.uuid}`;
    return undefined;
  }
  const x = anchor(a);
  const y = anchor(b);
  if (x === y) return `same place ${x}`;
  if (isInside(x, y) || isInside(y, x)) return `${x} and ${y} are nested`;
  return undefined;
}

function anchor(d: Destination): string {
  if (d.kind === 'usb') return d.mountpoint;
  if (d.kind === 'nas') return d.mountpoint ?? d.path;
  return d.path;
}

function overlaps(sources: readonly Source[], warn: (w: Omit<PolicyWarning, 'location'>) => void): void {
  const withPaths = sources.filter((s): s is PathsSource => s.kind === 'paths');
  for (const outer of withPaths) {
    const excluded = excluder(outer);
    for (const inner of withPaths) {
      if (inner === outer) continue;
      inner.paths.forEach((p, i) => {
        const q = outer.paths.find((o) => isInside(p, o));
        if (q === undefined || excluded(p)) return;
        // Equal paths: one warning for the pair, on the later source.
        if (p === q && withPaths.indexOf(inner) < withPaths.indexOf(outer)) return;
        warn({
          code: 'OVERLAPPING_SOURCES',
          level: 'warn',
          message:
            p === q
              ? `sources "${outer.name}" and "${inner.name}" both back up ${p}`
              : `${p} (source "${inner.name}") is inside ${q} (source "${outer.name}"), so it is backed up twice`,
          hint: p === q ? 'keep it in one source' : `add ${p} to the exclude list of "${outer.name}", or drop it from "${inner.name}"`,
          sources: [outer.name, inner.name],
          destinations: [],
          path: `sources.${inner.name}.paths.${i}`,
        });
      });
    }
  }
}

/** Whether the source's own `exclude` patterns skip a path. */
export function excluder(source: PathsSource): (path: string) => boolean {
  try {
    const matcher = compilePatterns(source.exclude);
    return (path) => matcher.excludes(path);
  } catch {
    return () => false; // invalid patterns were reported as problems; policy runs on valid configs
  }
}

/** `file:line:col: warning [CODE]: path: message (hint)`; level error reads `error`. */
export function formatWarning(w: PolicyWarning): string {
  const where = w.location === undefined ? '' : `${w.location.file}:${w.location.line}:${w.location.col}: `;
  const hint = w.hint === undefined ? '' : ` (${w.hint})`;
  return `${where}${w.level === 'error' ? 'error' : 'warning'} [${w.code}]: ${w.path}: ${w.message}${hint}`;
}
