/**
 * restic's default repository layout (restic-format.md §1; design.rst "Repository Format"):
 *
 *   config
 *   keys/<id>   snapshots/<id>   index/<id>   locks/<id>
 *   data/<first two hex chars of id>/<id>
 *
 * As relative paths with '/' separators, so a local directory, an SFTP server and an object
 * store (where a path is a key) all place files the same way. Names other than config must be
 * ids; anything else is refused here, before any backend touches storage.
 */
import { LifeboatError } from '../errors.ts';
import { isId } from '../ids.ts';
import type { FileType } from './backend.ts';

export const TYPE_DIRS: Readonly<Record<Exclude<FileType, 'config'>, string>> = {
  key: 'keys',
  data: 'data',
  index: 'index',
  snapshot: 'snapshots',
  lock: 'locks',
};

/** The 256 data/xx directories restic creates up front. */
export const DATA_SUBDIRS: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** The relative path of a file: `config`, `keys/<id>`, `data/ab/<id>`, ... */
export function layoutPath(type: FileType, name: string): string {
  if (type === 'config') return 'config';
  if (!isId(name)) throw new LifeboatError('USAGE', `invalid ${type} file name ${JSON.stringify(name)}`);
  if (type === 'data') return `data/${name.slice(0, 2)}/${name}`;
  return `${TYPE_DIRS[type]}/${name}`;
}

/** The relative directory holding files of `type` named `name` (for data, its data/xx). */
export function layoutDir(type: Exclude<FileType, 'config'>, name: string): string {
  return type === 'data' ? `data/${name.slice(0, 2)}` : TYPE_DIRS[type];
}
