/**
 * `lifeboat check`: every repository destination, one after the other, each to its own result.
 * Per destination: device check (only a ready one is read), then the repository is opened with
 * the destination's password (open-destination-repository.ts), locked exclusively, and checked by
 * the engine's checker (with `readData`, every pack is read back). Whatever goes wrong with one
 * destination (a drive that is not there, a missing repository, a wrong password, a lock) is
 * that destination's result, `{ code, message, hint }`, and the next one is checked all the
 * same: the destination after a lost one is the one an operator needs to hear about.
 *
 * A USB drive that is not plugged in or not mounted is `not-here`, not a failure, unless it was
 * asked for by name: rotation drives are away most of the time. A nas or local destination is
 * meant to be always there, so its absence is a failure (DEVICE_UNAVAILABLE), as is a drive
 * that is plugged in but is not the right one. Nothing is written except restic's lock file.
 */
import { LifeboatError, errorInfo, type ErrorInfo } from '../../core/errors.ts';
import { check, type Finding } from '../../core/checker/checker.ts';
import type { Config, Destination } from '../../config/index.ts';
import { checkDestination, type DeviceProbe } from '../devices/index.ts';
import { deviceView } from '../jobs/cell-context.ts';
import { openDestinationRepository } from '../destination/index.ts';

export type DestinationCheck =
  | {
      readonly destination: string;
      readonly outcome: 'checked';
      /** No errors (hints may be there). */
      readonly ok: boolean;
      readonly errors: readonly Finding[];
      readonly hints: readonly Finding[];
      readonly snapshots: number;
      readonly packs: number;
      readonly packsRead: number;
    }
  /** A plain-files mirror: there is no repository to check. */
  | { readonly destination: string; readonly outcome: 'mirror' }
  /** A USB drive away, as rotation drives are; not a failure. */
  | { readonly destination: string; readonly outcome: 'not-here'; readonly why: string }
  | { readonly destination: string; readonly outcome: 'failed'; readonly error: ErrorInfo };

export type CheckEvent =
  | { readonly type: 'destination-start'; readonly destination: string }
  | { readonly type: 'progress'; readonly destination: string; readonly packs: number; readonly totalPacks: number; readonly bytes: number; readonly totalBytes: number }
  | { readonly type: 'destination-done'; readonly result: DestinationCheck };

export interface CheckDestinationsOptions {
  /** Only this destination (a USB drive named here that is away is then a failure). */
  readonly destination?: string | undefined;
  /** Read back every pack (`check --read-data`). */
  readonly readData?: boolean | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly onEvent?: ((e: CheckEvent) => void) | undefined;
}

export interface CheckDestinationsDeps {
  readonly probe: DeviceProbe;
  /** How long to wait for other lifeboat or restic processes' locks to go (default 30 s). */
  readonly lockWaitMs?: number;
}

/** Results in config order, one per destination; throws only for an unknown --destination. */
export async function checkDestinations(config: Config, opts: CheckDestinationsOptions, deps: CheckDestinationsDeps): Promise<DestinationCheck[]> {
  if (opts.destination !== undefined && !config.destinations.some((d) => d.name === opts.destination)) {
    throw new LifeboatError('USAGE', `No destination named ${opts.destination} in ${config.file}`, { hint: `known: ${config.destinations.map((d) => d.name).join(', ')}` });
  }
  const results: DestinationCheck[] = [];
  for (const d of config.destinations) {
    if (opts.destination !== undefined && d.name !== opts.destination) continue;
    opts.onEvent?.({ type: 'destination-start', destination: d.name });
    let r: DestinationCheck;
    try {
      opts.signal?.throwIfAborted();
      r = await checkOne(d, opts, deps);
    } catch (e) {
      r = { destination: d.name, outcome: 'failed', error: errorInfo(e) };
    }
    results.push(r);
    opts.onEvent?.({ type: 'destination-done', result: r });
  }
  return results;
}

async function checkOne(d: Destination, opts: CheckDestinationsOptions, deps: CheckDestinationsDeps): Promise<DestinationCheck> {
  const st = await checkDestination(deviceView(d), deps.probe);
  if (st.state !== 'ready') {
    const away = st.state === 'absent' || st.state === 'not-mounted';
    if (d.kind === 'usb' && away && opts.destination === undefined) return { destination: d.name, outcome: 'not-here', why: st.why };
    throw new LifeboatError('DEVICE_UNAVAILABLE', `Cannot check destination ${d.name}: ${st.why}`, { hint: unavailableHint(d, st.state) });
  }
  if (d.format !== 'repository') return { destination: d.name, outcome: 'mirror' };
  const repo = await openDestinationRepository(d, st);
  try {
    opts.signal?.throwIfAborted();
    // Exclusive, as restic's check: packs a backup is still writing would read as damage.
    const lock = await repo.lock(true, deps.lockWaitMs ?? 30_000);
    try {
      const r = await check(repo, {
        ...(opts.readData ? { readData: { n: 1, m: 1 } } : {}),
        onEvent: (e) => opts.onEvent?.({ ...e, destination: d.name }),
      });
      return { destination: d.name, outcome: 'checked', ok: r.errors.length === 0, errors: r.errors, hints: r.hints, snapshots: r.snapshots, packs: r.packs, packsRead: r.packsRead };
    } finally {
      await lock.release();
    }
  } finally {
    await repo.close();
  }
}

function unavailableHint(d: Destination, state: 'absent' | 'not-mounted' | 'wrong-drive' | 'read-only'): string {
  if (state === 'read-only') return 'mount it read-write: check takes a lock in the repository, as restic does';
  if (state === 'wrong-drive') return `plug in the drive enrolled as ${d.name}`;
  if (d.kind === 'usb') return 'plug the drive in and mount it (`lifeboat usb` mounts enrolled drives)';
  return d.kind === 'nas' ? 'mount the share, then check again' : 'mount the filesystem that holds it, then check again';
}

/** The error codes of a check, one per destination that failed or is damaged (INTEGRITY). */
export function failureCodes(results: readonly DestinationCheck[]): ErrorInfo['code'][] {
  return results.flatMap((r) => (r.outcome === 'failed' ? [r.error.code] : r.outcome === 'checked' && !r.ok ? ['INTEGRITY' as const] : []));
}
