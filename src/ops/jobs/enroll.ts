/**
 * `lifeboat drive enroll DEST`: the one explicit act that prepares a destination. It requires
 * the destination to be ready (for a USB drive: the right drive, mounted), creates the root
 * directory inside the mount, initialises the repository (or adopts an existing one the
 * configured password opens), and writes the marker naming destination, drive and repository.
 * Nothing else in lifeboat ever creates a repository or mirror.
 */
import { promises as fsp } from 'node:fs';
import { LocalBackend } from '../../core/backend/index.ts';
import { Repository } from '../../core/repository/repository.ts';
import { LifeboatError } from '../../core/errors.ts';
import type { Config } from '../../config/index.ts';
import { checkDestination, newMarker, readMarker, writeMarker, type DeviceProbe } from '../devices/index.ts';
import { destinationPassword } from './destination-password.ts';
import { deviceView } from './cell-context.ts';

export interface EnrollResult {
  readonly destination: string;
  readonly root: string;
  readonly repositoryId?: string | undefined;
  readonly created: boolean;
  readonly label?: string | undefined;
  readonly uuid?: string | undefined;
}

export async function enrollDestination(config: Config, name: string, deps: { probe: DeviceProbe; hostname: string }): Promise<EnrollResult> {
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
  const state = await checkDestination(deviceView(dest), deps.probe);
  if (state.state !== 'ready') {
    if (dest.kind === 'usb' || dest.kind === 'nas') throw new LifeboatError('USAGE', `Cannot enroll ${name}: ${state.why}`, { hint: dest.kind === 'usb' ? 'plug the drive in and mount it (or run `lifeboat usb`)' : 'mount the share first' });
    throw new LifeboatError('USAGE', `Cannot enroll ${name}: ${state.why}`);
  }
  await fsp.mkdir(dest.root, { recursive: true, mode: 0o700 });
  const existing = await readMarker(dest.root);
  if (existing.state === 'present' && existing.marker.destination !== name) {
    throw new LifeboatError('USAGE', `Cannot enroll ${name}: ${dest.root} is already enrolled for destination ${existing.marker.destination}`);
  }
  let repositoryId: string | undefined;
  let created = false;
  if (dest.format === 'repository') {
    const password = await destinationPassword({ name, passwordFile: dest.password.kind === 'file' ? dest.password.path : undefined, passwordCommand: dest.password.kind === 'command' ? dest.password.command.argv : undefined });
    const backend = new LocalBackend(dest.root);
    let repo: Repository;
    if (await backend.exists()) repo = await Repository.open(backend, { password });
    else {
      repo = await Repository.init(backend, password);
      created = true;
    }
    repositoryId = repo.config.id;
    await repo.close();
  } else {
    await fsp.mkdir(`${dest.root}/current`, { recursive: true });
    created = existing.state !== 'present';
  }
  const marker = newMarker({ destination: name, ...(state.label ? { label: state.label } : {}), ...(state.uuid ? { uuid: state.uuid } : {}), ...(repositoryId ? { repositoryId } : {}), hostname: deps.hostname });
  await writeMarker(dest.root, marker, { replace: existing.state === 'present' });
  return { destination: name, root: dest.root, repositoryId, created, label: state.label, uuid: state.uuid };
}
