/**
 * `lifeboat status`: the coverage map at a glance. One cell per source x destination with its
 * state, judged against the source's frequency:
 *   OK     last good copy younger than the interval        DUE    older than the interval
 *   STALE  older than twice the interval, or the drive not seen for longer than that
 *   NEVER  no good copy yet                                  FAILED the last run failed
 *   INTERRUPTED the last run was stopped by a signal (not a failure, and not a copy either)
 *   ABSENT the destination is not here now (but was seen recently enough)
 *   MISSING the destination is here, but the repository (or mirror) enrolled there is not
 * Repositories are read when reachable (snapshot count, newest snapshot of the source); when a
 * drive is unplugged the state store answers. History is per enrolment: runs and drills of a
 * repository that was replaced (`drive enroll --replace`) do not count for the new one.
 */
import { LocalBackend } from '../../core/backend/index.ts';
import { Repository } from '../../core/repository/repository.ts';
import { nominalIntervalSeconds, policyWarnings, type Config, type PolicyWarning } from '../../config/index.ts';
import type { DeviceProbe, EnrolledState } from '../devices/index.ts';
import type { StateStore } from '../state/state-store.ts';
import { sourceTag } from './cell-context.ts';
import { checkEnrolled, enrolledHistory, repositoryMismatch } from './enrolled-view.ts';
import { repositoryPassword } from '../destination/index.ts';
import { selectCells, unavailable } from './run-coverage.ts';

export type CellState = 'OK' | 'DUE' | 'STALE' | 'NEVER' | 'ABSENT' | 'FAILED' | 'INTERRUPTED' | 'MISSING';

export interface StatusCell {
  readonly source: string;
  readonly destination: string;
  readonly state: CellState;
  readonly priority: string;
  readonly frequency: string;
  readonly last_success: string | null;
  readonly age_seconds: number | null;
  readonly snapshot: string | null;
  readonly snapshots: number | null;
  /** Bytes the last good run added to the destination (after deduplication), not its size. */
  readonly bytes_added: number | null;
  /** Deprecated: the same number as bytes_added, under its old, misleading name. */
  readonly size_bytes: number | null;
  readonly last_error: string | null;
  /** The error code of the last run when it did not succeed (NO_SPACE, WRONG_PASSWORD, INTERRUPTED, ...). */
  readonly last_code: string | null;
  readonly destination_present: boolean;
  /** checkEnrolledDestination's state: ready, absent, not-mounted, wrong-drive, read-only, not-enrolled, missing, refused. */
  readonly destination_state: EnrolledState['state'];
  readonly destination_why: string | null;
  readonly last_seen: string | null;
  readonly last_drill: string | null;
  readonly last_drill_ok: boolean | null;
  readonly drill_coverage: number | null;
}

export interface StatusReport {
  readonly cells: StatusCell[];
  readonly warnings: { code: string; level: string; message: string }[];
}

export async function coverageStatus(config: Config, deps: { probe: DeviceProbe; state: StateStore; now?: Date }): Promise<StatusReport> {
  const now = (deps.now ?? new Date()).getTime();
  const cells: StatusCell[] = [];
  const warnings: StatusReport['warnings'] = policyWarnings(config).map((w: PolicyWarning) => ({ code: w.code, level: w.level, message: w.message }));
  // `away`: absent or not mounted, which a run skips (ABSENT); a wrong drive or a read-only mount
  // is here but refused, which a run reports as FAILED, and so does status; a destination whose
  // enrolled repository is gone is MISSING.
  type Info = { state: EnrolledState['state']; present: boolean; away: boolean; why: string | null; snapshots?: Map<string, { count: number; latest?: { id: string; time: number } }> };
  const destInfo = new Map<string, Info>();
  for (const d of config.destinations) {
    const st: EnrolledState = await checkEnrolled(d, deps).catch((e: Error) => ({ state: 'absent' as const, why: e.message }));
    // A run's rule (unavailable()): only a drive may be away; an unmounted share or disk is a failure.
    const info: Info = { state: st.state, present: st.state === 'ready', away: st.state !== 'ready' && unavailable(d, st).outcome === 'absent', why: st.state === 'ready' ? null : st.why };
    if (st.state === 'missing') warnings.push({ code: 'REPOSITORY_MISSING', level: 'error', message: `destination ${d.name}: ${st.why}` });
    if (st.state === 'ready') {
      deps.state.markSeen({ destination: d.name, lastSeen: now, label: st.label, uuid: st.uuid });
      if (d.format === 'repository') {
        try {
          const password = await repositoryPassword(d);
          const repo = await Repository.open(new LocalBackend(d.root), { password });
          try {
            const wrong = repositoryMismatch(d.name, { actual: repo.config.id, marker: st.marker.repository_id, enrolment: deps.state.enrolment(d.name) });
            const m = new Map<string, { count: number; latest?: { id: string; time: number } }>();
            // Another repository than the enrolled one: refused as a run would, its snapshots not counted.
            if (wrong !== undefined) [info.state, info.present, info.why] = ['refused', false, wrong];
            else for (const s of await repo.listSnapshots({ onError: () => {} })) {
              // A pre-restore safety snapshot is not a backup of the source: it must not make a
              // stale cell look fresh.
              if (s.snapshot.tags?.includes('pre-restore')) continue;
              for (const t of s.snapshot.tags ?? []) {
                const e = m.get(t) ?? { count: 0 };
                e.count++;
                const time = Date.parse(s.snapshot.time);
                if (!e.latest || time >= e.latest.time) e.latest = { id: s.id, time };
                m.set(t, e);
              }
            }
            if (wrong === undefined) info.snapshots = m;
          } finally {
            await repo.close();
          }
        } catch (e) {
          warnings.push({ code: 'REPOSITORY_UNREADABLE', level: 'error', message: `destination ${d.name}: ${(e as Error).message}` });
        }
      }
    }
    destInfo.set(d.name, info);
  }
  for (const { source, destination } of selectCells(config, {})) {
    const info = destInfo.get(destination.name)!;
    const interval = nominalIntervalSeconds(source.frequency);
    const { lastSuccess: lastOk, lastRun, lastDrill: drill } = enrolledHistory(deps.state, source.name, destination.name);
    const seen = deps.state.lastSeen(destination.name);
    const repoView = info.snapshots?.get(sourceTag(source));
    // The state store's time when it recorded the repository's newest snapshot, so last_success
    // stays put when the drive is unplugged; the snapshot's own time for one made elsewhere.
    const repoLatest = repoView?.latest;
    const lastTime = repoLatest !== undefined && repoLatest.id !== lastOk?.snapshot ? repoLatest.time : (lastOk?.finishedAt ?? repoLatest?.time);
    const age = lastTime !== undefined ? Math.max(0, Math.round((now - lastTime) / 1000)) : null;
    const staleAfter = Math.max(2 * (interval ?? 0), destination.stale_after ? destination.stale_after.seconds : 0);
    let state: CellState;
    // Nothing where the enrolled repository was, or (a state store older than enrolments) where
    // backups were made before: the copies are gone, whatever the history says.
    if (info.state === 'missing' || (info.state === 'not-enrolled' && lastOk !== undefined)) state = 'MISSING';
    // Another drive, or a marker that does not match, is here in its place: refused until the operator acts.
    else if (info.state === 'wrong-drive' || info.state === 'refused') state = 'FAILED';
    else if (info.away) {
      const unseenFor = seen ? (now - seen.lastSeen) / 1000 : Infinity;
      state = interval !== undefined && unseenFor > Math.max(interval, staleAfter / 2) && lastTime !== undefined && age !== null && age > interval ? 'STALE' : lastTime === undefined ? 'NEVER' : 'ABSENT';
      if (state === 'STALE') warnings.push({ code: 'DRIVE_NOT_SEEN', level: 'error', message: `${destination.name} has not been seen ${seen ? `since ${new Date(seen.lastSeen).toISOString()}` : 'yet'}: the copy of ${source.name} there is ${age === null ? 'missing' : `${Math.round(age / 3600)} h old`}` });
    } else if (!info.present) state = 'FAILED'; // here but refused, or a share that is not mounted: a run fails it too
    else if (lastRun && lastRun.outcome === 'failed' && (!lastOk || lastRun.finishedAt > lastOk.finishedAt)) state = 'FAILED';
    else if (lastRun && lastRun.outcome === 'interrupted' && (!lastOk || lastRun.finishedAt > lastOk.finishedAt)) state = 'INTERRUPTED';
    else if (lastTime === undefined) state = 'NEVER';
    else if (interval === undefined || age! <= interval) state = 'OK';
    else if (age! <= staleAfter) state = 'DUE';
    else state = 'STALE';
    cells.push({
      source: source.name,
      destination: destination.name,
      state,
      priority: source.priority,
      frequency: source.frequency.text,
      last_success: lastTime !== undefined ? new Date(lastTime).toISOString() : null,
      age_seconds: age,
      snapshot: repoView?.latest?.id ?? lastOk?.snapshot ?? null,
      // 0, not null, when the repository was read and holds no snapshot of this source.
      snapshots: info.snapshots !== undefined ? (repoView?.count ?? 0) : null,
      bytes_added: lastOk?.bytes ?? null,
      size_bytes: lastOk?.bytes ?? null,
      last_error: lastRun && lastRun.outcome !== 'success' ? (lastRun.error ?? lastRun.outcome) : null,
      last_code: lastRun && lastRun.outcome !== 'success' ? (lastRun.code ?? null) : null,
      destination_present: info.present,
      destination_state: info.state,
      destination_why: info.why,
      last_seen: seen ? new Date(seen.lastSeen).toISOString() : null,
      last_drill: drill ? new Date(drill.at).toISOString() : null,
      last_drill_ok: drill ? drill.ok : null,
      drill_coverage: drill ? drill.coverage : null,
    });
  }
  return { cells, warnings };
}
