/**
 * The PostgreSQL application drill, end to end: a real throwaway PostgreSQL (initdb and pg_ctl
 * as the postgres user, listening only on a Unix socket in a temp directory) holds a database
 * with two tables; a `command` source stores `pg_dumpall --clean` of it. The drill restores the
 * dump, loads it into another throwaway server and counts what came back: it passes and says
 * so. A second source whose "dump" is not SQL at all backs up fine (bytes are bytes) but fails
 * its drill, which names the PostgreSQL drill: the point of an application drill.
 */
import assert from 'node:assert/strict';
import { existsSync, promises as fsp, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { jsonLines, lifeboat, localRepoConfig, requireTools, restic, resticSnapshots, run, Scratch, show } from './harness.ts';

/** The newest Debian PostgreSQL server binaries, or a failure saying how to get them. */
function pgBin(): string {
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base) ? readdirSync(base).filter((v) => existsSync(path.join(base, v, 'bin', 'initdb'))) : [];
  assert.ok(versions.length > 0, 'PostgreSQL server binaries are required (apt-get install postgresql; see .ci/run)');
  return path.join(base, versions.sort((a, b) => Number(b) - Number(a))[0]!, 'bin');
}

describe('PostgreSQL drill of a command source', () => {
  let s: Scratch;
  let bin: string;
  let pgData: string;
  let sock: string;
  let started = false;
  let config: string;
  let passwordFile: string;
  let repo: string;
  // Only the socket file name depends on the port: the socket lives in a private directory.
  const port = String(55000 + (process.pid % 1000));

  const asPostgres = async (cmd: string, args: string[]): Promise<void> => {
    const r = await run('runuser', ['-u', 'postgres', '--', cmd, ...args]);
    assert.equal(r.code, 0, `${cmd} ${args.join(' ')}: ${show(r)}`);
  };
  const psql = (db: string, sql: string): Promise<void> => asPostgres('psql', ['-X', '-h', sock, '-p', port, '-U', 'postgres', '-d', db, '-v', 'ON_ERROR_STOP=1', '-q', '-c', sql]);

  before(async () => {
    requireTools('runuser', 'psql', 'pg_dumpall');
    bin = pgBin();
    s = await Scratch.create('pgdrill');
    const pg = s.path('pg');
    await fsp.mkdir(pg, { mode: 0o700 });
    await fsp.chown(pg, ...(await postgresIds()));
    pgData = path.join(pg, 'data');
    sock = pg;
    await asPostgres(path.join(bin, 'initdb'), ['-D', pgData, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8', '--locale=C.UTF-8']);
    started = true; // from here on `after` stops the server, even if start half-failed
    await asPostgres(path.join(bin, 'pg_ctl'), ['-D', pgData, '-l', path.join(pg, 'server.log'), '-w', '-o', `-k ${sock} -c listen_addresses='' -p ${port} -c fsync=off`, 'start']);
    await psql('postgres', 'CREATE DATABASE shop');
    await psql(
      'shop',
      `CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL);
       INSERT INTO customers VALUES (1, 'Ada'), (2, 'Grace'), (3, 'Edsger');
       CREATE TABLE orders (id int PRIMARY KEY, customer int REFERENCES customers, total numeric);
       INSERT INTO orders VALUES (10, 1, 12.50), (11, 3, 99.00);`,
    );

    passwordFile = await s.passwordFile();
    repo = s.path('repo');
    config = s.path('lifeboat.yaml');
    await fsp.writeFile(
      config,
      localRepoConfig({
        stateDir: s.path('state'),
        hostname: 'pg-host',
        repo,
        passwordFile,
        sources: `  db:
    command: ["runuser", "-u", "postgres", "--", "pg_dumpall", "-h", "${sock}", "-p", "${port}", "--clean"]
    filename: db.sql
    priority: high
    frequency: daily
    destinations: [repo]
  broken:
    command: "echo 'this is not sql' # stands in for a pg_dump that went wrong"
    filename: broken.sql
    priority: high
    frequency: daily
    destinations: [repo]
`,
      }),
    );
    const enroll = await lifeboat(config, ['drive', 'enroll', 'repo']);
    assert.equal(enroll.code, 0, show(enroll));
  });

  after(async () => {
    if (started) await run('runuser', ['-u', 'postgres', '--', path.join(bin, 'pg_ctl'), '-D', pgData, '-m', 'immediate', '-w', 'stop']);
    await s?.cleanup();
  });

  it('run stores both dumps; the real one is what pg_dumpall printed', async () => {
    const r = await lifeboat(config, ['run', '--json']);
    assert.equal(r.code, 0, show(r));
    const summary = jsonLines<{ type: string; succeeded?: number; failed?: number }>(r.stdout).find((l) => l.type === 'summary');
    assert.deepEqual({ succeeded: summary?.succeeded, failed: summary?.failed }, { succeeded: 2, failed: 0 });
    const snap = (await resticSnapshots(repo, passwordFile, 'source:db'))[0]!;
    const dump = await restic(repo, passwordFile, ['dump', snap.id, '/db.sql']);
    assert.equal(dump.code, 0, show(dump));
    assert.match(dump.stdout, /^CREATE TABLE public\.customers /m);
    assert.match(dump.stdout, /^DROP DATABASE shop;$/m, 'a --clean dump (it drops what a fresh server lacks)');
  });

  it('drill loads the real dump into a throwaway PostgreSQL and passes; the garbage dump fails naming the PostgreSQL drill; status records both', async () => {
    const r = await lifeboat(config, ['drill']);
    assert.equal(r.code, 1, show(r));
    assert.match(r.stdout, /^PASSED +db -> repo: snapshot [0-9a-f]{8}, 1\/1 files restored and verified .*; dump loaded into a throwaway PostgreSQL: 2 databases, 2 tables \(shop 2\)$/m);
    assert.match(r.stdout, /^FAILED +broken -> repo: /m);
    assert.match(r.stdout, /^ +damaged: \/broken\.sql: PostgreSQL drill failed: the dump does not load: .*syntax error/m);
    assert.doesNotMatch(r.stdout, /damaged: \/db\.sql/);

    // Only the dump that loaded is the verified copy.
    assert.ok((await resticSnapshots(repo, passwordFile, 'source:db'))[0]!.tags?.includes('verified'));
    assert.ok(!(await resticSnapshots(repo, passwordFile, 'source:broken'))[0]!.tags?.includes('verified'));

    const st = await lifeboat(config, ['status', '--json']);
    const cells = (JSON.parse(st.stdout) as { cells: { source: string; last_drill_ok: boolean | null }[] }).cells;
    assert.equal(cells.find((c) => c.source === 'db')?.last_drill_ok, true);
    assert.equal(cells.find((c) => c.source === 'broken')?.last_drill_ok, false);
  });

  it('restore brings the dump back into a target; in place it is refused (it would land at /db.sql)', async () => {
    const target = s.path('restored');
    const r = await lifeboat(config, ['restore', '--source', 'db', '--target', target]);
    assert.equal(r.code, 0, show(r));
    const snap = (await resticSnapshots(repo, passwordFile, 'source:db'))[0]!;
    const dump = await restic(repo, passwordFile, ['dump', snap.id, '/db.sql']);
    assert.equal(await fsp.readFile(path.join(target, 'db.sql'), 'utf8'), dump.stdout);

    const existed = existsSync('/db.sql');
    const inPlace = await lifeboat(config, ['restore', '--source', 'db', '--in-place', '--yes']);
    assert.equal(inPlace.code, 2, show(inPlace));
    assert.match(inPlace.stderr, /^lifeboat: Source db stores a command's output \(db\.sql\), which has no place to restore to in place \[USAGE\]$/m);
    assert.equal(existsSync('/db.sql'), existed, 'nothing written at the filesystem root');
  });
});

async function postgresIds(): Promise<[number, number]> {
  const line = (await fsp.readFile('/etc/passwd', 'utf8')).split('\n').find((l) => l.startsWith('postgres:'));
  assert.ok(line, 'the postgres user is required (apt-get install postgresql)');
  const f = line.split(':');
  return [Number(f[2]), Number(f[3])];
}
