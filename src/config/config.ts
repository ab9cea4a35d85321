/**
 * The normalised configuration: what the rest of lifeboat reads. Every default is applied,
 * every alternative spelling resolved (a single `exclude_from` path is a list, a string command
 * is an argv for /bin/sh -c), frequencies and durations are parsed, and each destination knows
 * its `root`. Keys keep the file's spelling so a value can be traced back to the YAML by eye.
 * Sources and destinations are lists in file order; names are unique within each list.
 */
import type { Duration, Frequency } from './calendar.ts';
import type { PRIORITIES } from './schema.ts';

/** critical | high | medium | low. */
export type Priority = (typeof PRIORITIES)[number];

export interface Config {
  /** The file this came from. */
  readonly file: string;
  /** Default /var/lib/lifeboat. */
  readonly state_dir: string;
  /** undefined: the machine's own host name at run time. */
  readonly hostname: string | undefined;
  readonly destinations: readonly Destination[];
  readonly sources: readonly Source[];
}

/**
 * A command, always as an argv (no shell involved in running it). A string in the file becomes
 * `['/bin/sh', '-c', text]` with `shell: true`: the honest reading of a command line with
 * pipes and quotes. A list is run as written, `shell: false`.
 */
export interface Command {
  readonly argv: readonly [string, ...string[]];
  readonly shell: boolean;
  /** As written, for messages: the string, or the list joined by spaces. */
  readonly text: string;
}

interface SourceCommon {
  readonly name: string;
  readonly priority: Priority;
  readonly frequency: Frequency;
  /** Destination names, each one defined, in the order written. */
  readonly destinations: readonly string[];
  /** Default false. A sensitive source must never go to a mirror. */
  readonly sensitive: boolean;
  /** Absolute, normalised; undefined: drills do not decrypt age or SOPS files. */
  readonly age_identity: string | undefined;
  /** Default []. */
  readonly tags: readonly string[];
}

export interface PathsSource extends SourceCommon {
  readonly kind: 'paths';
  /** Absolute, normalised (no trailing '/'). */
  readonly paths: readonly string[];
  /** Inline restic patterns, literal. Default []. */
  readonly exclude: readonly string[];
  /** Exclude files, always a list. Default []. */
  readonly exclude_from: readonly string[];
  /** Default false. */
  readonly must_be_mountpoint: boolean;
  /** Default 0 (no guard). */
  readonly min_files: number;
}

export interface CommandSource extends SourceCommon {
  readonly kind: 'command';
  readonly command: Command;
  /** The name the command's standard output is stored under. */
  readonly filename: string;
}

export type Source = PathsSource | CommandSource;

export type PasswordSource = { readonly kind: 'file'; readonly path: string } | { readonly kind: 'command'; readonly command: Command };

/** restic's forget policy; 0 means "rule not set", as in restic. */
export interface Retention {
  readonly keep_last: number;
  readonly keep_hourly: number;
  readonly keep_daily: number;
  readonly keep_weekly: number;
  readonly keep_monthly: number;
  readonly keep_yearly: number;
  readonly keep_within: Duration | undefined;
  readonly keep_tags: readonly string[];
}

interface DestinationCommon {
  readonly name: string;
  /** Relative path from the mount (usb) or from `path` (nas, local) to `root`; '' for none. */
  readonly subdir: string;
  /** The directory where the repository or mirror lives: mountpoint/subdir or path/subdir. */
  readonly root: string;
  /** undefined: never judged stale. */
  readonly stale_after: Duration | undefined;
}

export type UsbPlace = {
  readonly kind: 'usb';
  /** At least one of label and uuid is set. */
  readonly label: string | undefined;
  readonly uuid: string | undefined;
  /** Given, or /mnt/lifeboat/<label, or the name when the label is unfit for a path>. */
  readonly mountpoint: string;
};
export type NasPlace = {
  readonly kind: 'nas';
  readonly path: string;
  /** The mount that must be present; undefined: whatever mount holds `path`, found at run time. */
  readonly mountpoint: string | undefined;
};
export type LocalPlace = { readonly kind: 'local'; readonly path: string };

export type RepositoryFormat = {
  readonly format: 'repository';
  readonly password: PasswordSource;
  /** undefined: never forget. */
  readonly retention: Retention | undefined;
};
export type MirrorFormat = { readonly format: 'mirror' };

export type Destination = DestinationCommon & (UsbPlace | NasPlace | LocalPlace) & (RepositoryFormat | MirrorFormat);
