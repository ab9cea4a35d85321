/**
 * A configured destination together with what the state store remembers of its enrolment: the
 * devices module's view of it (so an impostor is refused by the enrolled UUID), its check, and
 * the scope of history that belongs to the repository enrolled there now.
 */
import type { Destination as ConfigDestination } from '../../config/index.ts';
import { checkEnrolledDestination, type DeviceProbe, type Destination, type EnrolledState } from '../devices/index.ts';
import type { Enrolment, HistoryScope, RunRecord, StateStore } from '../state/state-store.ts';
import { deviceView } from './cell-context.ts';

export function enrolledView(dest: ConfigDestination, state: StateStore): Destination {
  const e = state.enrolment(dest.name);
  if (e === undefined) return deviceView(dest);
  return { ...deviceView(dest), enrolled: { label: e.label, uuid: e.uuid, repositoryId: e.repositoryId, enrolledAt: e.enrolledAt, lastSeen: state.lastSeen(dest.name)?.lastSeen } };
}

/**
 * Checks the destination against its enrolment. A state store from before enrolments were
 * recorded knows none: the first ready check with a valid marker records the marker's identity,
 * so from then on an impostor is told by its UUID.
 */
export async function checkEnrolled(dest: ConfigDestination, deps: { probe: DeviceProbe; state: StateStore }, opts: { readonly adopt?: boolean } = {}): Promise<EnrolledState> {
  const st = await checkEnrolledDestination(enrolledView(dest, deps.state), deps.probe);
  // `adopt: false` (a plan, a dry run) looks without recording anything.
  if (st.state === 'ready' && opts.adopt !== false && deps.state.enrolment(dest.name) === undefined) {
    const m = st.marker;
    const at = Date.parse(m.enrolled_at);
    deps.state.recordEnrolment({ destination: dest.name, label: m.label ?? undefined, uuid: m.uuid ?? undefined, repositoryId: m.repository_id, enrolledAt: Number.isFinite(at) ? at : 0 });
  }
  return st;
}

/** The history of the repository enrolled now; undefined (all history) when nothing is enrolled. */
function historyScope(e: Enrolment | undefined): HistoryScope | undefined {
  return e === undefined ? undefined : { repositoryId: e.repositoryId, since: e.enrolledAt };
}

/** The cell's last run, success and drill on the repository enrolled now (a replaced one's do not count). */
export function enrolledHistory(state: StateStore, source: string, destination: string): ReturnType<StateStore['cellHistory']> {
  return state.cellHistory(source, destination, historyScope(state.enrolment(destination)));
}

export function enrolledLastSuccess(state: StateStore, source: string, destination: string): RunRecord | undefined {
  return enrolledHistory(state, source, destination).lastSuccess;
}

/** Why the repository opened at a destination is refused, if it is not the enrolled one. */
export function repositoryMismatch(destination: string, ids: { actual: string; marker: string | undefined; enrolment: Enrolment | undefined }): string | undefined {
  const { actual: actualId, marker: markerId, enrolment: e } = ids;
  if (markerId !== undefined && markerId !== actualId) {
    return `the repository on ${destination} (${actualId.slice(0, 10)}) is not the one enrolled (${markerId.slice(0, 10)}): refusing to write`;
  }
  if (e?.repositoryId !== undefined && e.repositoryId !== actualId) {
    return `the repository on ${destination} (${actualId.slice(0, 10)}) is not the one enrolled on this server (${e.repositoryId.slice(0, 10)}): refusing to write; \`lifeboat drive enroll ${destination} --replace\` makes it the destination's repository`;
  }
  return undefined;
}
