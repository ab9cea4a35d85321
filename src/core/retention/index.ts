/**
 * Retention: which snapshots a forget policy keeps (restic 0.14 semantics), as a plan with
 * reasons; nothing here touches a repository. Deleting the chosen snapshot files is
 * prune/forget.ts; reclaiming their space is prune.
 */
export { planForget, type ForgetCandidate, type ForgetGroup, type ForgetPlan, type KeptSnapshot, type PlanForgetOptions, type RemovedSnapshot } from './plan-forget.ts';
export { formatPlan } from './format-plan.ts';
export { describePolicy, isEmptyPolicy, validatePolicy, type CalendarDuration, type ForgetPolicy, type KeepWithin } from './forget-policy.ts';
