/**
 * The PostgreSQL application drill: a restored dump is loaded into a throwaway server (Debian's
 * PostgreSQL, initdb'd in a temp directory, listening on a Unix socket only) and queried. A
 * dump that does not load is a failed backup, however good its bytes look.
 */
import { execFile } from 'node:child_process';
import { promises as fsp, readdirSync, existsSync } from 'node:fs';
import * as path from 'node:path';
import { tmpdir } from 'node:os';

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

export async function postgresDrill(dumpFile: string): Promise<{ ok: boolean; summary: string }> {
  const bin = findPgBin();
  if (!bin) return { ok: false, summary: 'PostgreSQL server binaries not found (install postgresql)' };
  const ids = process.getuid?.() === 0 ? await postgresIds() : undefined;
  const dir = await fsp.mkdtemp(path.join(tmpdir(), 'lbpg-'));
  const port = String(54000 + (process.pid % 1000));
  const asPg = ids ? { uid: ids.uid, gid: ids.gid } : {};
  try {
    await fsp.chmod(dir, 0o700);
    if (ids) await fsp.chown(dir, ids.uid, ids.gid);
    await fsp.copyFile(dumpFile, path.join(dir, 'dump.sql'));
    if (ids) await fsp.chown(path.join(dir, 'dump.sql'), ids.uid, ids.gid);
    const init = await run(path.join(bin, 'initdb'), ['-D', path.join(dir, 'data'), '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8', '--locale=C.UTF-8'], asPg);
    if (init.code !== 0) return { ok: false, summary: `initdb failed: ${init.stderr.trim().split('\n').pop()}` };
    const start = await run(path.join(bin, 'pg_ctl'), ['-D', path.join(dir, 'data'), '-l', path.join(dir, 'pg.log'), '-w', '-o', `-k ${dir} -c listen_addresses='' -p ${port} -c fsync=off`, 'start'], asPg);
    if (start.code !== 0) return { ok: false, summary: `server did not start: ${start.stderr.trim().split('\n').pop()}` };
    try {
      const load = await run('psql', ['-h', dir, '-p', port, '-U', 'postgres', '-d', 'postgres', '-v', 'ON_ERROR_STOP=1', '-q', '-f', path.join(dir, 'dump.sql')], asPg);
      if (load.code !== 0) return { ok: false, summary: `the dump does not load: ${load.stderr.trim().split('\n').slice(-2).join(' | ')}` };
      const q = await run('psql', ['-h', dir, '-p', port, '-U', 'postgres', '-d', 'postgres', '-At', '-c', "select count(*) from pg_database where not datistemplate; select count(*) from information_schema.tables where table_schema not in ('pg_catalog','information_schema')"], asPg);
      if (q.code !== 0) return { ok: false, summary: `query failed: ${q.stderr.trim()}` };
      const [dbs, tables] = q.stdout.trim().split('\n');
      return { ok: true, summary: `dump loaded into a throwaway PostgreSQL: ${dbs} databases, ${tables} tables in postgres` };
    } finally {
      await run(path.join(bin, 'pg_ctl'), ['-D', path.join(dir, 'data'), '-m', 'immediate', '-w', 'stop'], asPg);
    }
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}
