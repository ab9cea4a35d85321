/**
 * checkEnrolledDestination: checkDestination, then the enrolment. A destination that is ready
 * as a mount is writable only when its marker names this destination and this drive, and when
 * the repository lifeboat enrolled there is still there. The answer extends DestinationState with
 * the refusals only the enrolment can tell, each with its operator sentence:
 *   not-enrolled  no marker and no enrolment on record: `drive enroll` it once
 *   missing       enrolled, but the directory holds no marker: the share or drive was emptied
 *                 or replaced, and the repository enrolled there is gone
 *   refused       a marker that names another destination, drive or repository
 * Like checkDestination it writes nothing.
 */
import { readdir } from 'node:fs/promises';
import { checkDestination, impostorWhy, type Destination, type DestinationState, type EnrolledIdentity } from './destination-state.ts';
import { readMarker, verifyMarker, type DriveMarker } from './marker.ts';

type Ready = Extract<DestinationState, { state: 'ready' }>;

export type EnrolledState =
  | Exclude<DestinationState, Ready>
  | { readonly state: 'not-enrolled'; readonly why: string }
  | { readonly state: 'missing'; readonly why: string; readonly enrolled: EnrolledIdentity }
  | { readonly state: 'refused'; readonly why: string; readonly marker?: DriveMarker }
  | (Ready & { readonly marker: DriveMarker });

/** What the directory shows instead of a marker, for the `missing` sentence. */
async function whatIsThere(root: string): Promise<string> {
  try {
    const entries = await readdir(root);
    return entries.length === 0 ? `${root} is empty` : `${root} holds ${entries.length} entr${entries.length === 1 ? 'y' : 'ies'} but no drive marker`;
  } catch {
    return `${root} does not exist`;
  }
}

export async function checkEnrolledDestination(dest: Destination, probe: Parameters<typeof checkDestination>[1]): Promise<EnrolledState> {
  const st = await checkDestination(dest, probe);
  if (st.state !== 'ready') return st;
  const enrolled = dest.enrolled;
  // A configured UUID overrides the enrolled one in checkDestination; it still is not the enrolled drive.
  if (enrolled?.uuid !== undefined && st.uuid !== undefined && enrolled.uuid.toLowerCase() !== st.uuid.toLowerCase()) {
    const found = { ...(st.label !== undefined ? { label: st.label } : {}), uuid: st.uuid, ...(st.device !== undefined ? { device: st.device } : {}) };
    return { state: 'wrong-drive', why: impostorWhy(dest, found, enrolled), found, enrolled };
  }
  const marker = await readMarker(st.root);
  if (marker.state === 'missing' && enrolled !== undefined) {
    const what = enrolled.repositoryId !== undefined ? `The repository enrolled for '${dest.name}' (id ${enrolled.repositoryId.slice(0, 10)})` : `The mirror enrolled for '${dest.name}'`;
    const medium = dest.kind === 'usb' ? 'the drive was emptied or its directory removed' : 'the share is empty or was replaced';
    return {
      state: 'missing',
      enrolled,
      why: `${what} is not there: ${await whatIsThere(st.root)} (${medium}); nothing will be written there. If it is lost for good, start anew with \`lifeboat drive enroll ${dest.name} --replace\``,
    };
  }
  const why = verifyMarker(marker, { destination: dest.name, ...(st.label !== undefined ? { label: st.label } : {}), ...(st.uuid !== undefined ? { uuid: st.uuid } : {}) });
  if (marker.state === 'missing') return { state: 'not-enrolled', why: why! };
  if (why !== undefined) return { state: 'refused', why, ...(marker.state === 'present' ? { marker: marker.marker } : {}) };
  if (marker.state !== 'present') return { state: 'refused', why: `The drive marker ${marker.path} cannot be read` };
  return { ...st, marker: marker.marker };
}

/** A state a run skips (neither failure nor success): the destination is simply not here. */
export function isAway(s: EnrolledState): boolean {
  return s.state === 'absent' || s.state === 'not-mounted';
}
