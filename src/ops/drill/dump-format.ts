/**
 * Which kind of PostgreSQL dump a file is, told by its first bytes: a custom-format archive
 * (`pg_dump -Fc`) starts with the magic `PGDMP` (pg_backup_archiver.c), whatever its name; a
 * plain SQL script is a file named `*.sql`, or one that opens with pg_dump's header comment
 * ("-- PostgreSQL database dump", pg_dumpall's "-- PostgreSQL database cluster dump"), unless
 * it opens as another database's dump does.
 */
import { promises as fsp } from 'node:fs';

export type DumpFormat = 'plain' | 'custom';

const CUSTOM_MAGIC = Buffer.from('PGDMP');
const HEAD_BYTES = 256;
/** `*.sql` dumps of other databases, which PostgreSQL cannot load: mysqldump's header, sqlite3's .dump. */
const OTHER_DATABASE = /^(-- (MySQL|MariaDB) dump|\/\*M?!\d+|PRAGMA foreign_keys)/;

export async function dumpFormat(file: string, name: string): Promise<DumpFormat | undefined> {
  const fh = await fsp.open(file, 'r');
  let head: Buffer;
  try {
    const buf = Buffer.alloc(HEAD_BYTES);
    const { bytesRead } = await fh.read(buf, 0, HEAD_BYTES, 0);
    head = buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
  if (head.subarray(0, CUSTOM_MAGIC.length).equals(CUSTOM_MAGIC)) return 'custom';
  const text = head.toString('latin1');
  if (OTHER_DATABASE.test(text)) return undefined;
  if (/\.sql$/i.test(name) || /^(--\s*\n)?-- PostgreSQL database (cluster )?dump/.test(text)) return 'plain';
  return undefined;
}
