/**
 * `lifeboat drive enroll DEST`: the one explicit act that prepares a destination. It requires
 * the destination to be ready (for a USB drive: the right drive, mounted; a drive that is
 * plugged in but not mounted is mounted here at its mountpoint and unmounted again afterwards),
 * creates the root directory inside the mount, initialises the repository (or adopts an
 * existing one the configured password opens), writes the marker naming destination, drive and
 * repository, and records the same identity in the state store, which is what later tells an
 * impostor with the same label from the enrolled drive.
 *
 * Enrolling again with the same drive and repository adopts them (nothing changes). Anything
 * else on a destination with an enrolment (another drive, another or no repository where the
 * enrolled one was) replaces what was enrolled, and happens only with `replace` (the CLI's
 * confirmed `--replace`): afterwards the old drive and repository are refused, and the history
 * recorded against them no longer counts for the destination.
 * Nothing else in lifeboat ever creates a repository or mirror.
 */
import { promises as fsp } from 'node:fs';
import { LocalBackend } from '../../core/backend/index.ts';
import { Repository } from '../../core/repository/repository.ts';
import { LifeboatError } from '../../core/errors.ts';
import type { Config, Destination as ConfigDestination } from '../../config/index.ts';
import {
  checkDestination,
  findAttachedDrives,
  mountDrive,
  newMarker,
  readMarker,
  releaseDrive,
  writeMarker,
  type Destination as DeviceDestination,
  type DestinationState,
  type DeviceProbe,
  type DriveMatch,
  type MarkerState,
} from '../devices/index.ts';
import type { Enrolment, StateStore } from '../state/state-store.ts';
import { repositoryPassword } from '../destination/index.ts';
import { deviceView } from './cell-context.ts';
import { enrolledView } from './enrolled-view.ts';

export interface EnrollResult {
  readonly destination: string;
  readonly root: string;
  readonly repositoryId?: string | undefined;
  readonly created: boolean;
  readonly label?: string | undefined;
  readonly uuid?: string | undefined;
  /** The enrolment this one replaced (another drive or repository), if any. */
  readonly replaced?: Enrolment | undefined;
  /** True when enroll mounted the drive itself (and unmounted it again). */
  readonly mounted: boolean;
  readonly notes: readonly string[];
}

export interface EnrollDeps {
  readonly probe: DeviceProbe;
  readonly state: StateStore;
  readonly hostname: string;
  /** Make this drive/repository the destination's even though another one is enrolled. */
  readonly replace?: boolean;
  readonly now?: () => Date;
}

type Ready = Extract<DestinationState, { state: 'ready' }>;

const sameId = (a: string | undefined, b: string | undefined): boolean => (a ?? '').toLowerCase() === (b ?? '').toLowerCase();

/** Why enrolling this drive/repository would replace what is enrolled; undefined when it is the same. */
function replacing(name: string, ready: Ready, found: { repositoryId: string | undefined; enrolment: Enrolment | undefined; marker: MarkerState }): string | undefined {
  const { repositoryId, enrolment: e, marker } = found;
  const was = e ?? (marker.state === 'present' ? { uuid: marker.marker.uuid ?? undefined, repositoryId: marker.marker.repository_id } : undefined);
  if (was === undefined) return undefined;
  if (was.uuid !== undefined && ready.uuid !== undefined && !sameId(was.uuid, ready.uuid)) {
    return `${ready.label ?? 'this drive'} (UUID ${ready.uuid}) is not the drive enrolled for '${name}' (UUID ${was.uuid})`;
  }
  if (was.repositoryId !== undefined && repositoryId !== was.repositoryId) {
    return repositoryId === undefined
      ? `the repository enrolled for '${name}' (id ${was.repositoryId.slice(0, 10)}) is not there, and enrolling would create a new one`
      : `${ready.root} holds repository ${repositoryId.slice(0, 10)}, not the one enrolled for '${name}' (${was.repositoryId.slice(0, 10)})`;
  }
  if (e !== undefined && e.repositoryId === undefined && marker.state !== 'present') {
    return `the mirror enrolled for '${name}' is not there (${ready.root} holds no marker)`;
  }
  return undefined;
}

/** Mounts a plugged-in usb drive that is not mounted; returns the match to release, if it did. */
async function mountForEnroll(view: DeviceDestination, probe: DeviceProbe): Promise<{ state: DestinationState; match?: DriveMatch; notes: string[] }> {
  const before = await checkDestination(view, probe);
  if (view.kind !== 'usb' || before.state !== 'not-mounted' || before.device === undefined) return { state: before, notes: [] };
  const match = (await findAttachedDrives(probe, [view])).find((m) => m.drive.device === before.device);
  if (match === undefined) return { state: before, notes: [] };
  const m = await mountDrive(match, probe);
  return { state: m.state, notes: [...m.notes], ...(m.mounted ? { match } : {}) };
}

export async function enrollDestination(config: Config, name: string, deps: EnrollDeps): Promise<EnrollResult> {
  const dest = config.destinations.find((d) => d.name === name);
  if (!dest) throw new LifeboatError('USAGE', `No destination named ${name} in ${config.file}`, { hint: `known: ${config.destinations.map((d) => d.name).join(', ')}` });
  if (dest.kind === 'local') {
    // A local destination's parent must exist; only the root itself is created.
    const parent = dest.root.replace(/\/[^/]+\/?$/, '') || '/';
    try {
      await fsp.access(parent);
    } catch {
      throw new LifeboatError('USAGE', `Cannot enroll ${name}: ${parent} does not exist`);
    }
    await fsp.mkdir(dest.root, { recursive: false, mode: 0o700 }).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw e;
    });
  }
  // Without --replace, the enrolled UUID decides which drive this is (an impostor is refused
  // by name); with it, any drive with the configured label/UUID may become the enrolled one.
  const view = deps.replace === true ? deviceView(dest) : enrolledView(dest, deps.state);
  const mounting = await mountForEnroll(view, deps.probe);
  const notes = mounting.notes;
  try {
    const r = await enrollReady(dest, mounting.state, deps);
    return { ...r, mounted: mounting.match !== undefined, notes };
  } finally {
    if (mounting.match !== undefined) {
      const rel = await releaseDrive(mounting.match, deps.probe, { powerOff: false });
      notes.push(...rel.notes);
      if (!rel.safe) notes.push(rel.message);
    }
  }
}

async function enrollReady(dest: ConfigDestination, state: DestinationState, deps: EnrollDeps): Promise<Omit<EnrollResult, 'mounted' | 'notes'>> {
  const name = dest.name;
  if (state.state !== 'ready') {
    // A wrong drive's sentence already says what to do.
    const hint = state.state === 'wrong-drive' ? undefined : dest.kind === 'usb' ? 'plug the drive in; lifeboat mounts it at its mountpoint itself' : dest.kind === 'nas' ? 'mount the share first' : undefined;
    throw new LifeboatError('DEVICE_UNAVAILABLE', `Cannot enroll ${name}: ${state.why}`, hint !== undefined ? { hint } : {});
  }
  const existing = await readMarker(state.root);
  if (existing.state === 'present' && existing.marker.destination !== name) {
    throw new LifeboatError('POLICY_REFUSED', `Cannot enroll ${name}: ${state.root} is already enrolled for destination ${existing.marker.destination}`);
  }
  const enrolment = deps.state.enrolment(name);
  let password: string | undefined;
  let repositoryId: string | undefined;
  const backend = new LocalBackend(state.root);
  if (dest.format === 'repository') {
    password = await repositoryPassword(dest);
    if (await backend.exists()) {
      const repo = await Repository.open(backend, { password });
      repositoryId = repo.config.id;
      await repo.close();
    }
  }
  const why = replacing(name, state, { repositoryId, enrolment, marker: existing });
  if (why !== undefined && deps.replace !== true) {
    throw new LifeboatError('POLICY_REFUSED', `Cannot enroll ${name}: ${why}`, {
      hint: `to make this drive and repository the ones of '${name}' from now on (the old ones are refused afterwards), run \`lifeboat drive enroll ${name} --replace\``,
    });
  }
  await fsp.mkdir(state.root, { recursive: true, mode: 0o700 });
  let created = false;
  if (dest.format === 'repository') {
    if (repositoryId === undefined) {
      const repo = await Repository.init(backend, password!);
      repositoryId = repo.config.id;
      created = true;
      await repo.close();
    }
  } else {
    await fsp.mkdir(`${state.root}/current`, { recursive: true });
    created = existing.state !== 'present';
  }
  const now = (deps.now ?? (() => new Date()))();
  const marker = newMarker({ destination: name, ...(state.label ? { label: state.label } : {}), ...(state.uuid ? { uuid: state.uuid } : {}), ...(repositoryId ? { repositoryId } : {}), hostname: deps.hostname, now });
  await writeMarker(state.root, marker, { replace: existing.state === 'present' });
  // Adopting keeps the enrolment's start (or, for a state store older than enrolments, the
  // marker's), so the history of this repository still counts.
  const markerAt = existing.state === 'present' ? Date.parse(existing.marker.enrolled_at) : NaN;
  const since = why !== undefined ? undefined : (enrolment?.enrolledAt ?? (Number.isFinite(markerAt) ? markerAt : undefined));
  deps.state.recordEnrolment({ destination: name, label: state.label, uuid: state.uuid, repositoryId, enrolledAt: since ?? now.getTime() });
  return { destination: name, root: state.root, repositoryId, created, label: state.label, uuid: state.uuid, ...(why !== undefined ? { replaced: enrolment } : {}) };
}
