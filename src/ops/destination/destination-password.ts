/**
 * A repository destination's password, from `password_file` (one trailing newline dropped, as
 * restic does) or `password_command` (an argv; its stdout, exit code checked).
 * The password never reaches argv, logs or error messages.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { LifeboatError } from '../../core/errors.ts';
import type { Destination, RepositoryFormat } from '../../config/index.ts';

/** The password of a repository destination of the coverage map (its password_file or password_command). */
export function repositoryPassword(dest: Destination & RepositoryFormat): Promise<string> {
  return destinationPassword({
    name: dest.name,
    passwordFile: dest.password.kind === 'file' ? dest.password.path : undefined,
    passwordCommand: dest.password.kind === 'command' ? dest.password.command.argv : undefined,
  });
}

export async function destinationPassword(dest: { name: string; passwordFile?: string | undefined; passwordCommand?: readonly string[] | undefined }): Promise<string> {
  if (dest.passwordFile) {
    let s: string;
    try {
      s = (await readFile(dest.passwordFile, 'utf8')).replace(/\r?\n$/, '');
    } catch (e) {
      throw new LifeboatError('NO_PASSWORD', `Cannot read the password of destination ${dest.name} from ${dest.passwordFile}: ${readFailure(e)}`, {
        cause: e,
        hint: 'put the repository password in that file (one line, mode 0600), or point password_file at the file that holds it; `lifeboat config check` reports this before a run',
      });
    }
    if (s === '') throw new LifeboatError('NO_PASSWORD', `Cannot read the password of destination ${dest.name} from ${dest.passwordFile}: the file is empty`, { hint: 'put the repository password in it, one line' });
    return s;
  }
  if (dest.passwordCommand) {
    const [cmd, ...args] = dest.passwordCommand;
    if (!cmd) throw new LifeboatError('NO_PASSWORD', `The password command of destination ${dest.name} is empty`);
    return new Promise((resolve, reject) => {
      execFile(cmd, args, { timeout: 60_000, maxBuffer: 1 << 20 }, (err, stdout) => {
        if (err) {
          reject(new LifeboatError('NO_PASSWORD', `The password command of destination ${dest.name} failed (exit code ${(err as NodeJS.ErrnoException & { code?: unknown }).code ?? '?'})`));
          return;
        }
        const s = stdout.replace(/\r?\n$/, '');
        if (s === '') reject(new LifeboatError('NO_PASSWORD', `The password command of destination ${dest.name} printed nothing`));
        else resolve(s);
      });
    });
  }
  throw new LifeboatError('NO_PASSWORD', `Destination ${dest.name} has no password_file or password_command`);
}

/** Why a password file could not be read, in words rather than an errno name. */
function readFailure(e: unknown): string {
  switch ((e as NodeJS.ErrnoException).code) {
    case 'ENOENT':
      return 'the file does not exist';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'it is a directory, not a file';
    case 'ENOTDIR':
      return 'a part of that path is not a directory';
    default:
      return (e as Error).message;
  }
}
