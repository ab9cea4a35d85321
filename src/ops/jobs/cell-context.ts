/**
 * What a coverage run needs from the outside world, and the translation from the config's
 * destination to the devices module's view of it.
 */
import type { Destination as ConfigDestination, Source } from '../../config/index.ts';
import type { DeviceProbe } from '../devices/index.ts';
import type { Destination as DeviceDestination } from '../devices/index.ts';
import type { StateStore } from '../state/state-store.ts';
import type { Env } from '../../core/filter/index.ts';
import type { ErrorCode } from '../../core/errors.ts';

export type RunEvent =
  | { readonly type: 'cell-start'; readonly source: string; readonly destination: string }
  | { readonly type: 'progress'; readonly source: string; readonly destination: string; readonly files: number; readonly bytes: number; readonly totalFiles?: number | undefined; readonly totalBytes?: number | undefined }
  | { readonly type: 'cell-done'; readonly result: CellResult }
  | { readonly type: 'file-error'; readonly source: string; readonly destination: string; readonly path: string; readonly message: string };

/**
 * `absent`: the destination is a drive that is simply not here (skipped, not an error);
 * `interrupted`: SIGINT/SIGTERM stopped the cell (no snapshot was written), not a failure.
 */
export type CellOutcome = 'success' | 'partial' | 'failed' | 'absent' | 'interrupted' | 'not-due';

export interface CellResult {
  readonly source: string;
  readonly destination: string;
  readonly outcome: CellOutcome;
  readonly snapshot?: string | undefined;
  /** Files looked at: scanned for a repository, in the source for a mirror. */
  readonly files: number;
  /** Files whose content was written: new or changed (repository), transferred (mirror). */
  readonly filesWritten: number;
  /** Bytes added to the destination (after deduplication for a repository), not its size. */
  readonly bytes: number;
  readonly durationMs: number;
  /** For every outcome but success and not-due: what stopped or skipped the cell. */
  readonly error?: string | undefined;
  readonly code?: ErrorCode | undefined;
  readonly hint?: string | undefined;
  /** The repository written (its config id), kept with the run in the state store. */
  readonly repositoryId?: string | undefined;
}

export interface RunDeps {
  readonly probe: DeviceProbe;
  readonly state: StateStore;
  readonly env: Env;
  readonly hostname: string;
  readonly now?: () => Date;
  readonly onEvent?: (e: RunEvent) => void;
  readonly signal?: AbortSignal;
  /** How long to wait for another run on the same destination (default 0: refuse). */
  readonly lockWaitMs?: number;
}

export function deviceView(d: ConfigDestination): DeviceDestination {
  if (d.kind === 'usb') {
    return { name: d.name, kind: 'usb', root: d.root, mountpoint: d.mountpoint, ...(d.label ? { label: d.label } : {}), ...(d.uuid ? { uuid: d.uuid } : {}) };
  }
  if (d.kind === 'nas') return { name: d.name, kind: 'nas', root: d.root, path: d.path, ...(d.mountpoint ? { mountpoint: d.mountpoint } : {}) };
  return { name: d.name, kind: 'local', root: d.root, path: d.path };
}

/** The restic tag that marks a source's snapshots in a shared repository. */
export function sourceTag(source: Pick<Source, 'name'>): string {
  return `source:${source.name}`;
}
