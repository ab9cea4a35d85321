/**
 * The PostgreSQL application drill: a restored dump is loaded into a throwaway server (Debian's
 * PostgreSQL, initdb'd in a temp directory, listening on a Unix socket only) and queried, one
 * fresh server per dump as a real recovery starts. A dump that does not load is a failed
 * backup, however good its bytes look.
 */
import { execFile } from 'node:child_process';
import { promises as fsp, readdirSync, existsSync } from 'node:fs';
import * as path from 'node:path';
import { tmpdir } from 'node:os';
import { dumpFormat, type DumpFormat } from './dump-format.ts';

function run(cmd: string, args: string[], opts: { uid?: number; gid?: number; timeout?: number } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: opts.timeout ?? 120_000, maxBuffer: 16 << 20, ...(opts.uid !== undefined ? { uid: opts.uid, gid: opts.gid } : {}) }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof (err as NodeJS.ErrnoException & { code?: unknown }).code === 'number' ? ((err as unknown as { code: number }).code) : 1) : 0, stdout, stderr });
    });
  });
}

export function findPgBin(): string | undefined {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  const versions = readdirSync(base).filter((v) => existsSync(path.join(base, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a));
  return versions[0] ? path.join(base, versions[0], 'bin') : undefined;
}

async function postgresIds(): Promise<{ uid: number; gid: number } | undefined> {
  try {
    const line = (await fsp.readFile('/etc/passwd', 'utf8')).split('\n').find((l) => l.startsWith('postgres:'));
    if (!line) return undefined;
    const f = line.split(':');
    return { uid: Number(f[2]), gid: Number(f[3]) };
  } catch {
    return undefined;
  }
}

/** Errors a pg_dumpall script produces on a fresh cluster by design (see postgresDrill). */
const HARMLESS = [/^role ".*" already exists$/, /^role ".*" does not exist$/, /^database ".*" does not exist$/, /^current user cannot be dropped$/];

export interface PostgresDrillResult {
  readonly ok: boolean;
  readonly summary: string;
  /** Tables found after loading (user schemas, all databases); set when it loaded. */
  readonly tables?: number | undefined;
}

/**
 * Loads `dumpFile` into a fresh throwaway server: a plain SQL script with psql, a custom-format
 * archive (`pg_dump -Fc`) with pg_restore into the `postgres` database. Without `format` it is
 * told by content (dump-format.ts), so a `pg_dump -Fc` command source loads too.
 */
export async function postgresDrill(dumpFile: string, opts: { readonly format?: DumpFormat } = {}): Promise<PostgresDrillResult> {
  const format = opts.format ?? (await dumpFormat(dumpFile, '')) ?? 'plain';
  const bin = findPgBin();
  if (!bin) return { ok: false, summary: 'PostgreSQL server binaries not found (install postgresql)' };
  const ids = process.getuid?.() === 0 ? await postgresIds() : undefined;
  const dir = await fsp.mkdtemp(path.join(tmpdir(), 'lbpg-'));
  const port = String(54000 + (process.pid % 1000));
  const asPg = ids ? { uid: ids.uid, gid: ids.gid } : {};
  try {
    await fsp.chmod(dir, 0o700);
    if (ids) await fsp.chown(dir, ids.uid, ids.gid);
    const dump = path.join(dir, 'dump');
    await fsp.copyFile(dumpFile, dump);
    if (ids) await fsp.chown(dump, ids.uid, ids.gid);
    const init = await run(path.join(bin, 'initdb'), ['-D', path.join(dir, 'data'), '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8', '--locale=C.UTF-8'], asPg);
    if (init.code !== 0) return { ok: false, summary: `initdb failed: ${init.stderr.trim().split('\n').pop()}` };
    const start = await run(path.join(bin, 'pg_ctl'), ['-D', path.join(dir, 'data'), '-l', path.join(dir, 'pg.log'), '-w', '-o', `-k ${dir} -c listen_addresses='' -p ${port} -c fsync=off`, 'start'], asPg);
    if (start.code !== 0) return { ok: false, summary: `server did not start: ${start.stderr.trim().split('\n').pop()}` };
    try {
      const psql = (db: string, args: string[]) => run('psql', ['-X', '-h', dir, '-p', port, '-U', 'postgres', '-d', db, ...args], asPg);
      // Not ON_ERROR_STOP: a pg_dumpall script is meant to run into a fresh cluster with a few
      // harmless errors (PostgreSQL docs, pg_dumpall Notes): the bootstrap superuser exists
      // already, and --clean drops databases and roles that are not there yet. Any other error
      // means the dump does not load.
      // pg_restore goes on past errors as psql does, and exits 1 after any (even a harmless one):
      // its own failures ("not a valid archive") are `pg_restore: error:` lines without ERROR:.
      const load =
        format === 'custom'
          ? await run(path.join(bin, 'pg_restore'), ['-h', dir, '-p', port, '-U', 'postgres', '-d', 'postgres', '--no-owner', '--no-privileges', dump], asPg)
          : await psql('postgres', ['-q', '-f', dump]);
      const errors = load.stderr
        .split('\n')
        .filter((l) => /\bERROR:|^pg_restore: error:/.test(l))
        .filter((l) => !HARMLESS.some((h) => h.test(l.replace(/^.*?\bERROR:\s+/, ''))));
      const failed = errors.length > 0 || (load.code !== 0 && (format === 'plain' || !/\bERROR:/.test(load.stderr)));
      if (failed) return { ok: false, summary: `the dump does not load: ${(errors.length > 0 ? errors : load.stderr.trim().split('\n')).slice(0, 2).join(' | ') || `${format === 'custom' ? 'pg_restore' : 'psql'} exited with ${load.code}`}` };
      const dbs = await psql('postgres', ['-At', '-c', 'select datname from pg_database where not datistemplate order by datname']);
      if (dbs.code !== 0) return { ok: false, summary: `query failed: ${dbs.stderr.trim()}` };
      const names = dbs.stdout.trim().split('\n').filter(Boolean);
      let tables = 0;
      const per: string[] = [];
      for (const db of names) {
        const q = await psql(db, ['-At', '-c', "select count(*) from information_schema.tables where table_schema not in ('pg_catalog','information_schema')"]);
        if (q.code !== 0) return { ok: false, summary: `query failed in database ${db}: ${q.stderr.trim()}` };
        const n = Number(q.stdout.trim());
        tables += n;
        if (n > 0) per.push(`${db} ${n}`);
      }
      return { ok: true, tables, summary: `dump loaded into a throwaway PostgreSQL: ${names.length} database${names.length === 1 ? '' : 's'}, ${tables} table${tables === 1 ? '' : 's'}${per.length > 0 ? ` (${per.join(', ')})` : ''}` };
    } finally {
      await run(path.join(bin, 'pg_ctl'), ['-D', path.join(dir, 'data'), '-m', 'immediate', '-w', 'stop'], asPg);
    }
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}
