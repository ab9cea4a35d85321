/**
 * Opening a repository destination of the coverage map for restore, forget and `snapshots`:
 * its password, then the repository, with the operator's words for what can go wrong there.
 *
 * A destination that is ready (mounted, the right drive) but holds no repository is a lost
 * backup, not a repository yet to be made: the engine's hint ("create a repository with
 * lifeboat repo init") would be the wrong advice, so the error says what is missing where and
 * points at the other destinations and the drive or share instead.
 */
import { LocalBackend } from '../../core/backend/index.ts';
import { Repository } from '../../core/repository/repository.ts';
import { LifeboatError } from '../../core/errors.ts';
import type { Destination, RepositoryFormat } from '../../config/index.ts';
import { driveName, type DestinationState } from '../devices/index.ts';
import { destinationPassword } from '../jobs/destination-password.ts';

export async function openDestinationRepository(dest: Destination & RepositoryFormat, opts: { readonly others?: readonly string[] } = {}): Promise<Repository> {
  const password = await destinationPassword({ name: dest.name, passwordFile: dest.password.kind === 'file' ? dest.password.path : undefined, passwordCommand: dest.password.kind === 'command' ? dest.password.command.argv : undefined });
  try {
    return await Repository.open(new LocalBackend(dest.root), { password });
  } catch (e) {
    if (!(e instanceof LifeboatError) || e.code !== 'NO_REPOSITORY') throw e;
    const here = dest.kind === 'usb' ? `${driveName(dest)} is mounted at ${dest.mountpoint}, but ` : dest.kind === 'nas' ? `the share holding ${dest.path} is mounted, but ` : '';
    const place = dest.kind === 'usb' ? 'drive' : dest.kind === 'nas' ? 'share' : 'folder';
    const elsewhere = opts.others && opts.others.length > 0 ? `restore from another destination (${opts.others.join(', ')}), and ` : '';
    throw new LifeboatError('NO_REPOSITORY', `Cannot open destination ${dest.name}: ${here}there is no repository at ${dest.root}`, {
      cause: e,
      hint: `the backup is missing from that destination: ${elsewhere}check that the right ${place} is there and that nothing deleted or moved the repository`,
    });
  }
}

/**
 * Whether a destination that is not ready counts as a failure of a command that goes over every
 * destination. A USB drive that is simply not plugged in is the normal state of an off-site
 * copy: skipped, with its reason. Anything else (a drive plugged in but not mounted or the wrong
 * one, a share or folder that is not there) is a failure.
 */
export function unavailableIsFailure(dest: Pick<Destination, 'kind'>, st: DestinationState): boolean {
  return !(dest.kind === 'usb' && st.state === 'absent');
}
