/**
 * Prune: reclaim the space of data no snapshot references (restic 0.14 `prune`), and forget:
 * delete snapshot files. Plan first (planPrune reads only and says why for every pack), then
 * executePrune carries the plan out in restic's crash-safe order: new packs, new index, old
 * index deleted, old packs deleted. Both run under an exclusive lock the caller holds.
 *
 * Invariant: at every instant every blob a remaining snapshot references is named by an index
 * file and stored in an existing pack, so a kill leaves a repository restic's check accepts.
 */
export { planPrune, type MaxUnused, type MissingPack, type PackDecision, type PackKind, type PlanPruneEvent, type PlanPruneOptions, type PrunePlan, type PruneStats, type UnindexedPack } from './plan-prune.ts';
export { executePrune, type ExecutePruneOptions, type PruneEvent, type PrunePhase, type PruneResult } from './execute-prune.ts';
export { forget, type ForgetEvent, type ForgetOptions, type ForgetResult } from './forget.ts';
export { formatPrunePlan } from './format-prune-plan.ts';
