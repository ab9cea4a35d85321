/**
 * A repository destination's password, from `password_file` (one trailing newline dropped, as
 * restic does) or `password_command` (an argv; its stdout, exit code checked).
 * The password never reaches argv, logs or error messages.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { LifeboatError } from '../../core/errors.ts';

export async function destinationPassword(dest: { name: string; passwordFile?: string | undefined; passwordCommand?: readonly string[] | undefined }): Promise<string> {
  if (dest.passwordFile) {
    try {
      const s = (await readFile(dest.passwordFile, 'utf8')).replace(/\r?\n$/, '');
      if (s === '') throw new Error('the file is empty');
      return s;
    } catch (e) {
      throw new LifeboatError('NO_PASSWORD', `Cannot read the password of destination ${dest.name} from ${dest.passwordFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
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
