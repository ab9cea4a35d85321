/**
 * `lifeboat forget`: each repository destination's retention policy, planned first, then
 * carried out under restic's exclusive lock (which also means: never while a backup holds a
 * lock). Two rules of our own sit on top of restic's semantics:
 *   - the newest snapshot tagged `verified` (a passed drill) of every source is never forgotten,
 *     so the last-known-good copy survives any policy;
 *   - a source whose last run on this destination failed keeps all its snapshots until a run
 *     succeeds again (a bad run must not also cost the good copies).
 * With `prune`, unreferenced data is then removed (crash-safe, see core/prune), and so are temp
 * files that interrupted writes left behind.
 */
import { LocalBackend } from '../../core/backend/index.ts';
import { Repository } from '../../core/repository/repository.ts';
import { planForget, formatPlan, type ForgetPlan, type ForgetPolicy } from '../../core/retention/index.ts';
import { executePrune, forget, formatPrunePlan, planPrune } from '../../core/prune/index.ts';
import { LifeboatError } from '../../core/errors.ts';
import type { Config, Destination, Retention } from '../../config/index.ts';
import { checkDestination, type DeviceProbe } from '../devices/index.ts';
import type { StateStore } from '../state/state-store.ts';
import { deviceView, sourceTag } from '../jobs/cell-context.ts';
import { destinationPassword } from '../jobs/destination-password.ts';
import { VERIFIED_TAG } from '../drill/drill.ts';

export interface RetentionResult {
  readonly destination: string;
  readonly skipped?: string;
  readonly plan?: ForgetPlan;
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
    out.push(await retentionFor(config, d, opts, deps));
  }
  return out;
}

async function retentionFor(config: Config, d: Destination, opts: { prune?: boolean | undefined; dryRun?: boolean | undefined; now?: Date }, deps: { probe: DeviceProbe; state: StateStore }): Promise<RetentionResult> {
  const base = { destination: d.name, lines: [] as string[], forgotten: 0 };
  if (d.format !== 'repository') return { ...base, skipped: 'a mirror keeps dated version folders; nothing to forget' };
  if (!d.retention) return { ...base, skipped: 'no retention policy configured: every snapshot is kept' };
  const st = await checkDestination(deviceView(d), deps.probe);
  if (st.state !== 'ready') return { ...base, skipped: st.why };
  const password = await destinationPassword({ name: d.name, passwordFile: d.password.kind === 'file' ? d.password.path : undefined, passwordCommand: d.password.kind === 'command' ? d.password.command.argv : undefined });
  const repo = await Repository.open(new LocalBackend(d.root), { password });
  try {
    // Exclusive for the whole operation, planning included: no backup can slip in between.
    const lock = opts.dryRun ? undefined : await repo.lock(true);
    try {
      const snaps = await repo.listSnapshots({ onError: () => {} });
      const protect = new Map<string, string>();
      for (const source of config.sources) {
        if (!source.destinations.includes(d.name)) continue;
        const mine = snaps.filter((s) => s.snapshot.tags?.includes(sourceTag(source)));
        const verified = mine.filter((s) => s.snapshot.tags?.includes(VERIFIED_TAG));
        const newestVerified = verified[verified.length - 1];
        if (newestVerified) protect.set(newestVerified.id, `newest verified snapshot of ${source.name} (last-known-good)`);
        const last = deps.state.lastRun(source.name, d.name);
        if (last && last.outcome === 'failed') for (const s of mine) if (!protect.has(s.id)) protect.set(s.id, `the last run of ${source.name} here failed: nothing of it is forgotten until one succeeds`);
      }
      const plan = planForget(snaps, policyFrom(d.retention), { now: opts.now ?? new Date(), protect: (id) => protect.get(id) });
      const lines = [...formatPlan(plan)];
      if (opts.dryRun) return { ...base, plan, lines: [...lines, `dry run: ${plan.remove.length} snapshots would be forgotten; nothing was changed`] };
      const r = await forget(repo, plan.remove);
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
      return { ...base, plan, lines, forgotten: r.removed.length, ...(pruned ? { pruned } : {}) };
    } finally {
      await lock?.release();
    }
  } finally {
    await repo.close();
  }
}
