/**
 * `lifeboat forget`: each repository destination's retention policy, planned first, then
 * carried out under restic's exclusive lock (which also means: never while a backup holds a
 * lock). Two rules of our own sit on top of restic's semantics:
 *   - the newest snapshot tagged `verified` (a passed drill) of every source is never forgotten,
 *     so the last-known-good copy survives any policy;
 *   - a source whose last run on this destination failed keeps all its snapshots until a run
 *     succeeds again (a bad run must not also cost the good copies).
 * Pre-restore safety snapshots are outside the policy: kept for a fixed time, then dropped
 * (safety-retention.ts). With `prune`, unreferenced data is then removed (crash-safe, see
 * core/prune), and so are temp files that interrupted writes left behind.
 *
 * Each destination is one result: planned and carried out, skipped with its reason, or failed
 * with its error (a missing repository on a mounted drive, a wrong password, a lock), and one
 * failure never stops the destinations after it. A USB drive that is not plugged in is skipped,
 * not failed (see unavailableIsFailure); the caller decides the exit from the failures.
 */
import { planForget, formatPlan, type ForgetPlan, type ForgetPolicy } from '../../core/retention/index.ts';
import { executePrune, forget, formatPrunePlan, planPrune } from '../../core/prune/index.ts';
import { errorInfo, LifeboatError, type ErrorInfo } from '../../core/errors.ts';
import type { Config, Destination, Retention } from '../../config/index.ts';
import { checkDestination, type DeviceProbe } from '../devices/index.ts';
import type { StateStore } from '../state/state-store.ts';
import { deviceView } from '../jobs/cell-context.ts';
import { VERIFIED_TAG } from '../drill/drill.ts';
import { openDestinationRepository, unavailableIsFailure } from '../destination/index.ts';
import { isBackupOf } from '../restore/safety-snapshot.ts';
import { formatSafetyPlan, planSafetyRetention, type SafetyDecision } from './safety-retention.ts';

export interface RetentionResult {
  readonly destination: string;
  readonly skipped?: string;
  /** Why this destination could not be looked at; the others still were. */
  readonly failed?: ErrorInfo;
  readonly plan?: ForgetPlan;
  readonly safety?: readonly SafetyDecision[];
  readonly lines: readonly string[];
  readonly forgotten: number;
  readonly pruned?: { packsDeleted: number; bytesDeleted: number; packsWritten: number };
}

export function policyFrom(r: Retention): ForgetPolicy {
  return {
    ...(r.keep_last ? { keepLast: r.keep_last } : {}),
    ...(r.keep_hourly ? { keepHourly: r.keep_hourly } : {}),
    ...(r.keep_daily ? { keepDaily: r.keep_daily } : {}),
    ...(r.keep_weekly ? { keepWeekly: r.keep_weekly } : {}),
    ...(r.keep_monthly ? { keepMonthly: r.keep_monthly } : {}),
    ...(r.keep_yearly ? { keepYearly: r.keep_yearly } : {}),
    ...(r.keep_within ? { keepWithin: { years: r.keep_within.years, months: r.keep_within.months, days: r.keep_within.days, hours: r.keep_within.hours } } : {}),
    ...(r.keep_tags.length ? { keepTags: r.keep_tags } : {}),
  };
}

export async function applyRetention(
  config: Config,
  opts: { destination?: string | undefined; prune?: boolean | undefined; dryRun?: boolean | undefined; now?: Date },
  deps: { probe: DeviceProbe; state: StateStore },
): Promise<RetentionResult[]> {
  if (opts.destination && !config.destinations.some((d) => d.name === opts.destination)) throw new LifeboatError('USAGE', `No destination named ${opts.destination} in ${config.file}`);
  const out: RetentionResult[] = [];
  for (const d of config.destinations) {
    if (opts.destination && d.name !== opts.destination) continue;
    try {
      out.push(await retentionFor(config, d, opts, deps));
    } catch (e) {
      out.push({ destination: d.name, lines: [], forgotten: 0, failed: errorInfo(e) });
    }
  }
  return out;
}

async function retentionFor(config: Config, d: Destination, opts: { prune?: boolean | undefined; dryRun?: boolean | undefined; now?: Date }, deps: { probe: DeviceProbe; state: StateStore }): Promise<RetentionResult> {
  const base = { destination: d.name, lines: [] as string[], forgotten: 0 };
  if (d.format !== 'repository') return { ...base, skipped: 'a mirror keeps dated version folders; nothing to forget' };
  if (!d.retention) return { ...base, skipped: 'no retention policy configured: every snapshot is kept' };
  const st = await checkDestination(deviceView(d), deps.probe);
  if (st.state !== 'ready') {
    if (!unavailableIsFailure(d, st)) return { ...base, skipped: st.why };
    throw new LifeboatError('DEVICE_UNAVAILABLE', `Cannot apply retention on ${d.name}: ${st.why}`);
  }
  // Retention deletes: only from the repository enrolled on this server, never from one put in its place.
  const repo = await openDestinationRepository(d, st, { enrolledRepositoryId: deps.state.enrolment(d.name)?.repositoryId });
  try {
    // Exclusive for the whole operation, planning included: no backup can slip in between.
    const lock = opts.dryRun ? undefined : await repo.lock(true);
    try {
      const now = opts.now ?? new Date();
      const { policy: snaps, safety } = planSafetyRetention(await repo.listSnapshots({ onError: () => {} }), now);
      const protect = new Map<string, string>();
      for (const source of config.sources) {
        if (!source.destinations.includes(d.name)) continue;
        const mine = snaps.filter((s) => isBackupOf(source, s.snapshot));
        const verified = mine.filter((s) => s.snapshot.tags?.includes(VERIFIED_TAG));
        const newestVerified = verified[verified.length - 1];
        if (newestVerified) protect.set(newestVerified.id, `newest verified snapshot of ${source.name} (last-known-good)`);
        const last = deps.state.lastRun(source.name, d.name);
        if (last && last.outcome === 'failed') for (const s of mine) if (!protect.has(s.id)) protect.set(s.id, `the last run of ${source.name} here failed: nothing of it is forgotten until one succeeds`);
      }
      const plan = planForget(snaps, policyFrom(d.retention), { now, protect: (id) => protect.get(id) });
      const remove = [...plan.remove, ...safety.filter((x) => x.action === 'remove').map((x) => x.id)];
      const lines = [...formatPlan(plan), ...formatSafetyPlan(safety)];
      if (opts.dryRun) return { ...base, plan, safety, lines: [...lines, `dry run: ${remove.length} snapshots would be forgotten; nothing was changed`] };
      const r = await forget(repo, remove);
      lines.push(`forgot ${r.removed.length} snapshots`);
      let pruned: RetentionResult['pruned'];
      if (opts.prune) {
        await repo.loadIndex();
        const pp = await planPrune(repo);
        lines.push(...formatPrunePlan(pp));
        if (!pp.nothingToDo) {
          const res = await executePrune(repo, pp);
          pruned = { packsDeleted: res.packsDeleted, bytesDeleted: res.bytesDeleted, packsWritten: res.packsWritten };
          lines.push(`pruned: ${res.packsDeleted} packs deleted (${res.bytesDeleted} bytes), ${res.packsWritten} packs written`);
        }
        // Under the exclusive lock no writer runs: a temp file now is what a killed backup or a
        // pulled drive left, never listed and never counted by restic either.
        const temp = await repo.backend.removeTempFiles?.();
        if (temp && temp.files > 0) lines.push(`removed ${temp.files} temp files (${temp.bytes} bytes) left by interrupted writes`);
      }
      return { ...base, plan, safety, lines, forgotten: r.removed.length, ...(pruned ? { pruned } : {}) };
    } finally {
      await lock?.release();
    }
  } finally {
    await repo.close();
  }
}
