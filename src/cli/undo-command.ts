/**
 * The way back after an in-place restore, printed as a command that runs as it stands: the same
 * source, destination and config, the safety snapshot's full short id, every word quoted for a
 * POSIX shell where it needs it.
 */
import * as path from 'node:path';
import { PRE_RESTORE_TAG, SAFETY_KEEP_DAYS } from '../ops/restore/safety-snapshot.ts';

/** A word a POSIX shell reads back as itself. */
export function shellWord(w: string): string {
  return /^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replaceAll("'", "'\\''")}'`;
}

export function undoCommand(o: { readonly source: string; readonly destination: string; readonly safetySnapshot: string; readonly config?: string | undefined }): string {
  const args = ['lifeboat', 'restore', '--source', o.source, '--destination', o.destination, '--snapshot', o.safetySnapshot.slice(0, 8), '--in-place', '--yes'];
  if (o.config !== undefined) args.push('--config', path.resolve(o.config));
  return args.map(shellWord).join(' ');
}

/** What the safety snapshot is, in one line. */
export function safetyLine(source: string, safetySnapshot: string): string {
  return `safety snapshot ${safetySnapshot.slice(0, 8)} (tags ${PRE_RESTORE_TAG}, pre-restore-of:${source}; kept ${SAFETY_KEEP_DAYS} days) holds what was there before`;
}
