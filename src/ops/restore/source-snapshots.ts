/**
 * `lifeboat snapshots`: per destination of the coverage map, the snapshots a restore can pick
 * from, so an operator can choose one (and find a safety snapshot to undo a restore with)
 * before restoring. With a source, only its backups and its safety snapshots; without, every
 * snapshot in each repository. Each destination is one answer: its snapshots, a mirror (one
 * current copy, no snapshots), skipped (a USB drive that is not plugged in) or failed with its
 * error; one failure does not hide the destinations after it.
 */
import { errorInfo, LifeboatError, type ErrorInfo } from '../../core/errors.ts';
import type { Config, Destination } from '../../config/index.ts';
import { didYouMean } from '../../config/index.ts';
import { checkDestination, type DeviceProbe } from '../devices/index.ts';
import { deviceView, sourceTag } from '../jobs/cell-context.ts';
import { VERIFIED_TAG } from '../drill/drill.ts';
import { openDestinationRepository, unavailableIsFailure } from '../destination/index.ts';
import { isBackupOf, isSafetySnapshot, safetyExpiry, safetySourceOf } from './safety-snapshot.ts';

export interface ListedSnapshot {
  readonly id: string;
  readonly shortId: string;
  readonly time: string;
  readonly host: string;
  readonly paths: readonly string[];
  readonly tags: readonly string[];
  /** The source its tags name (`source:S`, or the one a safety snapshot was taken for). */
  readonly source: string | undefined;
  readonly verified: boolean;
  /** Set for a pre-restore safety snapshot: picked only by id, kept until then. */
  readonly safety?: { readonly until: string } | undefined;
}

export type DestinationSnapshots =
  | { readonly destination: string; readonly state: 'here'; readonly snapshots: readonly ListedSnapshot[] }
  | { readonly destination: string; readonly state: 'mirror'; readonly why: string }
  | { readonly destination: string; readonly state: 'skipped'; readonly why: string }
  | { readonly destination: string; readonly state: 'failed'; readonly error: ErrorInfo };

export async function listSourceSnapshots(config: Config, opts: { readonly source?: string | undefined; readonly destination?: string | undefined }, deps: { readonly probe: DeviceProbe }): Promise<DestinationSnapshots[]> {
  const source = opts.source === undefined ? undefined : config.sources.find((s) => s.name === opts.source);
  if (opts.source !== undefined && !source) {
    const names = config.sources.map((s) => s.name);
    throw new LifeboatError('USAGE', `No source named ${opts.source} in ${config.file}`, { hint: didYouMean(opts.source, names) ?? `known: ${names.join(', ')}` });
  }
  let dests = source ? source.destinations.map((n) => config.destinations.find((d) => d.name === n)!).filter(Boolean) : [...config.destinations];
  if (opts.destination !== undefined) {
    const names = dests.map((d) => d.name);
    if (!names.includes(opts.destination)) throw new LifeboatError('USAGE', source ? `Source ${source.name} is not backed up to ${opts.destination}` : `No destination named ${opts.destination} in ${config.file}`, { hint: didYouMean(opts.destination, names) ?? `${source ? 'its' : 'known'} destinations: ${names.join(', ')}` });
    dests = dests.filter((d) => d.name === opts.destination);
  }
  const out: DestinationSnapshots[] = [];
  for (const d of dests) {
    try {
      out.push(await snapshotsOn(d, source, deps.probe));
    } catch (e) {
      out.push({ destination: d.name, state: 'failed', error: errorInfo(e) });
    }
  }
  return out;
}

async function snapshotsOn(d: Destination, source: { readonly name: string } | undefined, probe: DeviceProbe): Promise<DestinationSnapshots> {
  const st = await checkDestination(deviceView(d), probe);
  if (st.state !== 'ready') {
    if (!unavailableIsFailure(d, st)) return { destination: d.name, state: 'skipped', why: st.why };
    throw new LifeboatError('DEVICE_UNAVAILABLE', `Cannot list snapshots on ${d.name}: ${st.why}`);
  }
  if (d.format === 'mirror') return { destination: d.name, state: 'mirror', why: `a mirror holds the current copy (older versions are plain files under ${d.root}/versions/)` };
  const repo = await openDestinationRepository(d, st);
  try {
    const all = await repo.listSnapshots({ onError: () => {} });
    const mine = source ? all.filter((s) => isBackupOf(source, s.snapshot) || safetySourceOf(s.snapshot) === source.name) : all;
    return {
      destination: d.name,
      state: 'here',
      snapshots: mine.map(({ id, snapshot: sn }) => {
        const tags = sn.tags ?? [];
        const safetyOf = safetySourceOf(sn);
        const prefix = sourceTag({ name: '' });
        const tagged = tags.find((t) => t.startsWith(prefix))?.slice(prefix.length);
        return {
          id,
          shortId: id.slice(0, 8),
          time: sn.time,
          host: sn.hostname ?? '',
          paths: sn.paths,
          tags,
          source: safetyOf ?? tagged,
          verified: tags.includes(VERIFIED_TAG),
          ...(isSafetySnapshot(sn) ? { safety: { until: safetyExpiry(sn).toISOString() } } : {}),
        };
      }),
    };
  } finally {
    await repo.close();
  }
}
