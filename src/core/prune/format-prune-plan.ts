/**
 * The prune plan as lines a person reads (the `--dry-run` output): restic's summary figures,
 * then one line per pack that changes, with its reason.
 */
import type { PrunePlan } from './plan-prune.ts';

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(3)} ${units[u]}`;
}

export function formatPrunePlan(plan: PrunePlan, opts: { verbose?: boolean } = {}): string[] {
  const s = plan.stats;
  const b = formatBytes;
  const lines = [
    `${plan.snapshots.length} snapshots, ${plan.indexFiles.length} index files`,
    `used:         ${s.blobs.used} blobs / ${b(s.bytes.used)}`,
    ...(s.blobs.duplicate > 0 ? [`duplicates:   ${s.blobs.duplicate} blobs / ${b(s.bytes.duplicate)}`] : []),
    `unused:       ${s.blobs.unused} blobs / ${b(s.bytes.unused)}`,
    ...(s.bytes.unref > 0 ? [`unreferenced: ${plan.unindexed.length} packs / ${b(s.bytes.unref)}`] : []),
    `to repack:    ${s.blobs.repack} blobs / ${b(s.bytes.repack)} in ${plan.repack.length} packs (${plan.copy.length} blobs copied)`,
    `this removes: ${s.blobs.repackrm} blobs / ${b(s.bytes.repackrm)}`,
    `to delete:    ${s.blobs.remove} blobs / ${b(s.bytes.remove + s.bytes.unref)} in ${plan.remove.length + plan.unindexed.length} packs`,
    `packs:        ${plan.keep.length} kept, ${plan.repack.length} repacked, ${plan.remove.length} removed, ${plan.unindexed.length} unindexed deleted${plan.missing.length > 0 ? `, ${plan.missing.length} missing dropped from the index` : ''}`,
    `size:         ${b(plan.bytesBefore)} -> about ${b(plan.bytesAfter)}`,
  ];
  if (plan.nothingToDo) lines.push('nothing to prune');
  for (const d of plan.repack) lines.push(`repack ${d.id.slice(0, 8)} ${d.kind} ${b(d.size)}: ${d.reason}`);
  for (const d of plan.remove) lines.push(`remove ${d.id.slice(0, 8)} ${d.kind} ${b(d.size)}: ${d.reason}`);
  for (const d of plan.unindexed) lines.push(`delete ${d.id.slice(0, 8)} ${b(d.size)}: ${d.reason}`);
  for (const m of plan.missing) lines.push(`drop   ${m.id.slice(0, 8)}: ${m.reason}`);
  if (opts.verbose) for (const d of plan.keep) lines.push(`keep   ${d.id.slice(0, 8)} ${d.kind} ${b(d.size)}: ${d.reason}`);
  return lines;
}
