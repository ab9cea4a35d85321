/**
 * The PostgreSQL application drill, end to end: a real throwaway PostgreSQL (initdb and pg_ctl
 * as the postgres user, listening only on a Unix socket in a temp directory) holds a database
 * with two tables; a `command` source stores `pg_dumpall --clean` of it. The drill restores the
 * dump, loads it into another throwaway server and counts what came back: it passes and says
 * so. A second source whose "dump" is not SQL at all backs up fine (bytes are bytes) but fails
 * its drill, which names the PostgreSQL drill: the point of an application drill. Dump files
 * kept in a paths source (a plain pg_dump, a custom-format pg_dump -Fc made by the real pg_dump,
 * and a broken one) are loaded too, each by the tool its format needs, as is a command source's
 * custom-format dump.
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

/**
 * A throwaway PostgreSQL server in `dir` (initdb and pg_ctl as the postgres user, a Unix socket
 * in `dir` only), holding database `shop` with two tables. Only the socket file name depends on
 * the port: the socket lives in a private directory.
 */
function throwawayPostgres(dir: string, port: string) {
  const bin = pgBin();
  const data = path.join(dir, 'data');
  let started = false;
  const asPostgres = async (cmd: string, args: string[]): Promise<void> => {
    const r = await run('runuser', ['-u', 'postgres', '--', cmd, ...args]);
    assert.equal(r.code, 0, `${cmd} ${args.join(' ')}: ${show(r)}`);
  };
  const conn = ['-h', dir, '-p', port, '-U', 'postgres'];
  const psql = (db: string, sql: string): Promise<void> => asPostgres('psql', ['-X', ...conn, '-d', db, '-v', 'ON_ERROR_STOP=1', '-q', '-c', sql]);
  return {
    sock: dir,
    port,
    /** -h, -p and -U for psql and pg_dump. */
    conn,
    asPostgres,
    async start(): Promise<void> {
      await fsp.mkdir(dir, { mode: 0o700 });
      await fsp.chown(dir, ...(await postgresIds()));
      await asPostgres(path.join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8', '--locale=C.UTF-8']);
      started = true; // from here on stop() stops the server, even if start half-failed
      await asPostgres(path.join(bin, 'pg_ctl'), ['-D', data, '-l', path.join(dir, 'server.log'), '-w', '-o', `-k ${dir} -c listen_addresses='' -p ${port} -c fsync=off`, 'start']);
      await psql('postgres', 'CREATE DATABASE shop');
      await psql(
        'shop',
        `CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL);
         INSERT INTO customers VALUES (1, 'Ada'), (2, 'Grace'), (3, 'Edsger');
         CREATE TABLE orders (id int PRIMARY KEY, customer int REFERENCES customers, total numeric);
         INSERT INTO orders VALUES (10, 1, 12.50), (11, 3, 99.00);`,
      );
    },
    async stop(): Promise<void> {
      if (started) await run('runuser', ['-u', 'postgres', '--', path.join(bin, 'pg_ctl'), '-D', data, '-m', 'immediate', '-w', 'stop']);
    },
  };
}

describe('PostgreSQL drill of a command source', () => {
  let s: Scratch;
  let pg: ReturnType<typeof throwawayPostgres> | undefined;
  let sock: string;
  let config: string;
  let passwordFile: string;
  let repo: string;
  const port = String(55000 + (process.pid % 1000));

  before(async () => {
    requireTools('runuser', 'psql', 'pg_dumpall');
    s = await Scratch.create('pgdrill');
    pg = throwawayPostgres(s.path('pg'), port);
    sock = pg.sock;
    await pg.start();

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
    await pg?.stop();
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

describe('PostgreSQL drill of dump files in a paths source', () => {
  let s: Scratch;
  let pg: ReturnType<typeof throwawayPostgres> | undefined;
  let config: string;
  let passwordFile: string;
  let repo: string;
  let dumps: string;

  before(async () => {
    requireTools('runuser', 'psql', 'pg_dump');
    s = await Scratch.create('pgfiles');
    pg = throwawayPostgres(s.path('pg'), String(56000 + (process.pid % 1000)));
    await pg.start();
    // What a nightly cron job leaves in /srv/db-backups: one plain dump, one custom-format dump.
    await pg.asPostgres('pg_dump', [...pg.conn, '-d', 'shop', '-f', path.join(pg.sock, 'shop.sql')]);
    await pg.asPostgres('pg_dump', [...pg.conn, '-d', 'shop', '-Fc', '-f', path.join(pg.sock, 'shop.dump')]);
    dumps = s.path('srv', 'db-backups');
    await fsp.mkdir(dumps, { recursive: true });
    for (const f of ['shop.sql', 'shop.dump']) await fsp.copyFile(path.join(pg.sock, f), path.join(dumps, f));
    assert.equal((await fsp.readFile(path.join(dumps, 'shop.dump'))).subarray(0, 5).toString(), 'PGDMP');
    await fsp.writeFile(path.join(dumps, 'broken.sql'), 'CREATE TABLE half (id int;\n');
    await fsp.writeFile(path.join(dumps, 'README.txt'), 'nightly dumps, kept 7 days\n');

    passwordFile = await s.passwordFile();
    repo = s.path('repo');
    config = s.path('lifeboat.yaml');
    await fsp.writeFile(
      config,
      `state_dir: ${s.path('state')}
hostname: pg-files
destinations:
  repo:
    kind: local
    path: ${repo}
    password_file: ${passwordFile}
  mirror:
    kind: local
    path: ${s.path('mirror')}
    format: mirror
sources:
  dbfiles:
    paths: [${dumps}]
    priority: high
    frequency: daily
    destinations: [repo]
  shopfc:
    command: [runuser, -u, postgres, --, pg_dump, ${pg.conn.map((a) => JSON.stringify(a)).join(', ')}, -Fc, shop]
    filename: shop.dump
    priority: high
    frequency: daily
    destinations: [repo, mirror]
`,
    );
    for (const d of ['repo', 'mirror']) {
      const enroll = await lifeboat(config, ['drive', 'enroll', d]);
      assert.equal(enroll.code, 0, show(enroll));
    }
    const r = await lifeboat(config, ['run']);
    assert.equal(r.code, 0, show(r));
  });

  after(async () => {
    await pg?.stop();
    await s?.cleanup();
  });

  it('a drill loads the plain dump with psql and the custom one with pg_restore, says so, and fails naming the dump that does not load', async () => {
    const r = await lifeboat(config, ['drill']);
    assert.equal(r.code, 1, show(r));
    const loaded = `2 dump files loaded into a throwaway PostgreSQL: ${path.join(dumps, 'shop.dump')} \\(custom, 2 tables\\), ${path.join(dumps, 'shop.sql')} \\(plain, 2 tables\\); 1 did not load \\(${path.join(dumps, 'broken.sql')}\\)$`;
    assert.match(r.stdout, new RegExp(`^FAILED +dbfiles -> repo: snapshot [0-9a-f]{8}, 1/4 files checked .*; ${loaded}`, 'm'));
    const damaged = r.stdout.split('\n').filter((l) => /^ +damaged: /.test(l));
    assert.equal(damaged.length, 1, r.stdout);
    assert.match(damaged[0]!, new RegExp(`^ +damaged: ${path.join(dumps, 'broken.sql')}: PostgreSQL drill failed: the dump does not load: .*syntax error`));
    assert.ok(!(await resticSnapshots(repo, passwordFile, 'source:dbfiles'))[0]!.tags?.includes('verified'));
    // A command source's custom-format dump (pg_dump -Fc) is told by content too, and loads with pg_restore.
    assert.match(r.stdout, /^PASSED +shopfc -> repo: .*; dump loaded into a throwaway PostgreSQL: 1 database, 2 tables \(postgres 2\)$/m);
    // ... and so does its mirrored copy, read straight from the mirror.
    assert.match(r.stdout, /^PASSED +shopfc -> mirror: mirror, 1\/1 files checked .*; dump loaded into a throwaway PostgreSQL: 1 database, 2 tables \(postgres 2\)$/m);
  });

  it('without the broken dump the next drill passes and the snapshot is verified', async () => {
    await fsp.rm(path.join(dumps, 'broken.sql'));
    assert.equal((await lifeboat(config, ['run'])).code, 0);
    const r = await lifeboat(config, ['drill', '--json', '--source', 'dbfiles']);
    assert.equal(r.code, 0, show(r));
    const d = jsonLines<{ outcome: string; app?: string; snapshot: string }>(r.stdout)[0]!;
    assert.equal(d.outcome, 'passed');
    assert.match(d.app ?? '', /^2 dump files loaded into a throwaway PostgreSQL: .*shop\.dump \(custom, 2 tables\), .*shop\.sql \(plain, 2 tables\)$/);
    const snaps = await resticSnapshots(repo, passwordFile, 'source:dbfiles');
    assert.ok(snaps[snaps.length - 1]!.tags?.includes('verified'));
  });
});

async function postgresIds(): Promise<[number, number]> {
  const line = (await fsp.readFile('/etc/passwd', 'utf8')).split('\n').find((l) => l.startsWith('postgres:'));
  assert.ok(line, 'the postgres user is required (apt-get install postgresql)');
  const f = line.split(':');
  return [Number(f[2]), Number(f[3])];
}
