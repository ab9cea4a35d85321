/**
 * Opens the repository of a destination that checkDestination found ready, with errors worded
 * for the coverage map. The engine's own advice for a missing repository ("create one with
 * `lifeboat repo init`") suits the repository commands; on a configured destination a missing
 * repository is a lost backup (a replaced drive, an emptied share) or a destination never
 * enrolled, and the drive marker tells which. A marker naming another destination, drive or
 * repository (a copied directory, another drive) is refused by name, as runs refuse it. A wrong
 * password points at the destination's password_file or password_command, not at the
 * repository commands' flags.
 */
import { LocalBackend } from '../../core/backend/index.ts';
import { LifeboatError } from '../../core/errors.ts';
import { Repository } from '../../core/repository/repository.ts';
import type { Destination, RepositoryFormat } from '../../config/index.ts';
import { driveName, readMarker, verifyMarker, type MarkerState } from '../devices/index.ts';
import { repositoryPassword } from './destination-password.ts';

export type RepositoryDestination = Destination & RepositoryFormat;

/** Where the destination was found: checkDestination's ready state. */
export interface ReadyPlace {
  readonly root: string;
  readonly label?: string | undefined;
  readonly uuid?: string | undefined;
}

/**
 * Opens it; throws NO_REPOSITORY (saying whether one was enrolled), NO_PASSWORD, WRONG_PASSWORD
 * (pointing at the destination's secret), or DEVICE_UNAVAILABLE when the drive marker or the
 * repository id shows this is not what was enrolled as this destination (a copy, another drive).
 * A repository without a marker is opened: reading it is harmless, and runs refuse it anyway.
 */
export interface OpenRepositoryOptions {
  /** The source's other destinations, named in the hint when this one's repository is gone. */
  readonly others?: readonly string[] | undefined;
  /** The repository id the state store recorded at enrolment: another repository here is refused too. */
  readonly enrolledRepositoryId?: string | undefined;
}

/** Where a destination's repository is, by its config alone (a usb drive's configured label and UUID). */
function configuredPlace(d: Destination): ReadyPlace {
  return { root: d.root, ...(d.kind === 'usb' && d.label ? { label: d.label } : {}), ...(d.kind === 'usb' && d.uuid ? { uuid: d.uuid } : {}) };
}

export async function openDestinationRepository(destination: RepositoryDestination, place: ReadyPlace = configuredPlace(destination), opts: OpenRepositoryOptions = {}): Promise<Repository> {
  const backend = new LocalBackend(place.root);
  const marker = await readMarker(place.root);
  if (!(await backend.exists())) throw missingRepository(destination, place, marker, opts.others);
  const notEnrolled = (why: string): LifeboatError =>
    new LifeboatError('DEVICE_UNAVAILABLE', `Cannot open the repository of destination ${destination.name}: ${why}`, { hint: `put the ${placeWord(destination)} enrolled as ${destination.name} in place` });
  const refused = marker.state === 'missing' ? undefined : verifyMarker(marker, { destination: destination.name, ...(place.label ? { label: place.label } : {}), ...(place.uuid ? { uuid: place.uuid } : {}) });
  if (refused !== undefined) throw notEnrolled(refused);
  const password = await repositoryPassword(destination);
  let repo: Repository;
  try {
    repo = await Repository.open(backend, { password });
  } catch (e) {
    if (!(e instanceof LifeboatError) || e.code !== 'WRONG_PASSWORD') throw e;
    const from = destination.password.kind === 'file' ? `password_file ${destination.password.path}` : 'password_command';
    const why = e.message.replace(/^Cannot open repository (.*?): /, '');
    throw new LifeboatError('WRONG_PASSWORD', `Cannot open the repository of destination ${destination.name} at ${place.root}: ${why}`, {
      cause: e,
      hint: `the password from ${from} of destination ${destination.name} opens no key of this repository: check that secret, and that this is the ${placeWord(destination)} enrolled as ${destination.name}`,
    });
  }
  const enrolled = marker.state === 'present' ? marker.marker.repository_id : undefined;
  if (enrolled !== undefined && enrolled !== repo.config.id) {
    await repo.close();
    throw notEnrolled(`the repository at ${place.root} (${repo.config.id.slice(0, 10)}) is not the one enrolled there (${enrolled.slice(0, 10)})`);
  }
  if (opts.enrolledRepositoryId !== undefined && opts.enrolledRepositoryId !== repo.config.id) {
    await repo.close();
    throw notEnrolled(`the repository at ${place.root} (${repo.config.id.slice(0, 10)}) is not the one enrolled on this server (${opts.enrolledRepositoryId.slice(0, 10)})`);
  }
  return repo;
}

function placeWord(d: Destination): string {
  return d.kind === 'usb' ? 'drive' : d.kind === 'nas' ? 'share' : 'directory';
}

/** NO_REPOSITORY saying whether a repository was enrolled here (the marker) and what to do. */
function missingRepository(d: RepositoryDestination, place: ReadyPlace, marker: MarkerState, others: readonly string[] | undefined): LifeboatError {
  const copies = others !== undefined && others.length > 0 ? `restore from another destination (${others.join(', ')})` : 'the other destinations of its sources still hold copies (`lifeboat status` shows them; `lifeboat restore --source S --destination OTHER` restores from one)';
  const where = d.kind === 'usb' ? `${driveName({ name: d.name, ...(place.label ? { label: place.label } : {}), ...(place.uuid ? { uuid: place.uuid } : {}) })} at ${place.root}` : place.root;
  const enroll = `\`lifeboat drive enroll ${d.name}\``;
  if (marker.state === 'present') {
    const m = marker.marker;
    const id = m.repository_id !== undefined ? ` (${m.repository_id.slice(0, 10)})` : '';
    return new LifeboatError('NO_REPOSITORY', `Cannot open the repository of destination ${d.name}: the repository enrolled there${id} on ${m.enrolled_at.slice(0, 10)} is missing; ${where} has its marker but no config file`, {
      hint: `that backup is lost: ${copies}; once you know why it went, start a new repository here with ${enroll}`,
    });
  }
  const other = d.kind === 'usb' ? 'another drive with the same label' : d.kind === 'nas' ? 'a replaced or emptied share' : 'an emptied directory';
  return new LifeboatError('NO_REPOSITORY', `Cannot open the repository of destination ${d.name}: there is no repository on ${where} (no config file, no enrolment marker)`, {
    hint: `if lifeboat backed up to ${d.name} before, this is ${other} and that backup is not here: put the right ${placeWord(d)} in place, or ${others !== undefined && others.length > 0 ? copies : 'use another destination, which still holds copies'}. A destination never used yet is prepared with ${enroll}`,
  });
}

/**
 * Whether a destination that is not ready counts as a failure of a command that goes over every
 * destination. A USB drive that is simply not plugged in is the normal state of an off-site
 * copy: skipped, with its reason. Anything else (a drive plugged in but not mounted or the wrong
 * one, a share or folder that is not there) is a failure.
 */
export function unavailableIsFailure(dest: Pick<Destination, 'kind'>, st: { readonly state: string }): boolean {
  return !(dest.kind === 'usb' && st.state === 'absent');
}
