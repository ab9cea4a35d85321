/**
 * Where the repository password comes from, in order: --password-file, LIFEBOAT_PASSWORD_FILE,
 * LIFEBOAT_PASSWORD, RESTIC_PASSWORD_FILE, RESTIC_PASSWORD. Never from argv (world-readable
 * in /proc). One trailing newline of a password file is dropped, as restic does.
 */
import { readFileSync } from 'node:fs';
import { LifeboatError } from '../core/errors.ts';

export function resolvePassword(opts: { passwordFile?: string | undefined }, env: NodeJS.ProcessEnv): string {
  const file = opts.passwordFile ?? env.LIFEBOAT_PASSWORD_FILE ?? (env.LIFEBOAT_PASSWORD === undefined ? env.RESTIC_PASSWORD_FILE : undefined);
  if (file !== undefined && file !== '') {
    let s: string;
    try {
      s = readFileSync(file, 'utf8');
    } catch (e) {
      throw new LifeboatError('NO_PASSWORD', `Cannot read password file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
    }
    return s.replace(/\r?\n$/, '');
  }
  const pw = env.LIFEBOAT_PASSWORD ?? env.RESTIC_PASSWORD;
  if (pw !== undefined && pw !== '') return pw;
  throw new LifeboatError('NO_PASSWORD', 'No repository password given', {
    hint: 'use --password-file F, or set LIFEBOAT_PASSWORD_FILE or LIFEBOAT_PASSWORD',
  });
}
