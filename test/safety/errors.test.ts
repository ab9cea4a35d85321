/**
 * What an operator sees when things go wrong: every failure is one line with a stable code and
 * the documented exit code, never a stack trace; damage is named precisely, and restic 0.14
 * agrees with lifeboat's verdict on the same damaged repository.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import {
  LIFEBOAT,
  ROOT,
  assertCleanError,
  assertExit,
  baseEnv,
  describeRun,
  flipByte,
  initRepo,
  killStragglers,
  lifeboat,
  makeTree,
  repoFiles,
  requireTools,
  restic,
  run,
  start,
  tempDir,
  waitForLock,
} from './harness.ts';

let work: string;
let pristine: string; // a repository with two snapshots of `source`; copied before damaging it
let source: string;

/** A private copy of the pristine repository, to damage. */
async function copyRepo(label: string): Promise<string> {
  const dst = path.join(work, label);
  await fsp.cp(pristine, dst, { recursive: true, preserveTimestamps: true });
  return dst;
}

before(async () => {
  requireTools('restic');
  work = await tempDir('errors');
  source = path.join(work, 'source');
  await makeTree(source, 'errors-source', 3 << 20);
  pristine = path.join(work, 'pristine');
  await initRepo(pristine);
  assertExit(await lifeboat(['repo', 'backup', '--repo', pristine, source]), 0, 'first backup');
  await fsp.writeFile(path.join(source, 'added-later.txt'), 'second snapshot\n');
  assertExit(await lifeboat(['repo', 'backup', '--repo', pristine, source]), 0, 'second backup');
});

after(async () => {
  await killStragglers();
  if (work) await fsp.rm(work, { recursive: true, force: true });
});

describe('errors an operator meets', () => {
  test('a wrong password exits 12 with one line coded [WRONG_PASSWORD] naming the repository, no stack trace, no lock left', async () => {
    const env = baseEnv({ LIFEBOAT_PASSWORD: 'not the password' });
    const r = await lifeboat(['repo', 'backup', source, '--repo', pristine], { env });
    assertExit(r, 12, 'backup with a wrong password');
    const line = assertCleanError(r, 'WRONG_PASSWORD');
    assert.match(line, /wrong password/);
    assert.ok(line.includes(pristine), 'the message names the repository');
    assert.equal((await repoFiles(pristine, 'locks')).length, 0, 'a refused open leaves no lock');
  });

  test('a missing repository exits 10 with [NO_REPOSITORY], for a missing path and for an empty directory', async () => {
    const empty = path.join(work, 'empty-dir');
    await fsp.mkdir(empty);
    const cases: [string, string[]][] = [
      [path.join(work, 'no-such-repo'), ['backup', source]],
      [empty, ['restore', 'latest', '--target', path.join(work, 'never')]],
    ];
    for (const [repo, args] of cases) {
      const r = await lifeboat(['repo', ...args, '--repo', repo]);
      assertExit(r, 10, `repo ${args[0]} on ${repo}`);
      assert.match(assertCleanError(r, 'NO_REPOSITORY'), /no config file found/);
    }
    assert.deepEqual(await fsp.readdir(empty), [], 'nothing was created in the empty directory');
    await assert.rejects(fsp.access(path.join(work, 'never')), 'no restore target was created');
  });

  test('a live exclusive lock makes backup exit 11 with [REPO_LOCKED] naming the holder; once released, backup works', async () => {
    const repo = await copyRepo('locked-exclusive');
    const holder = start(process.execPath, ['--import', 'tsx', path.join(ROOT, 'test', 'safety', 'hold-lock.ts'), repo, 'exclusive'], { stdin: 'pipe', cwd: ROOT });
    try {
      const [line] = (await once(holder.child.stdout!, 'data', { signal: AbortSignal.timeout(60_000) })) as [Buffer | string];
      assert.match(String(line), /^locked \d+/, `hold-lock.ts said: ${String(line)}`);
      const r = await lifeboat(['repo', 'backup', '--repo', repo, source]);
      assertExit(r, 11, 'backup against an exclusive lock');
      const msg = assertCleanError(r, 'REPO_LOCKED');
      assert.ok(msg.includes(`PID ${holder.child.pid}`), `the message names the holder's PID: ${msg}`);
      // restic sees the engine's lock too.
      const rr = await restic(repo, ['backup', source]);
      assert.notEqual(rr.code, 0, describeRun(rr));
      assert.match(rr.stderr, /already locked/);
    } finally {
      holder.child.stdin!.end();
      const h = await holder.done;
      assertExit(h, 0, 'hold-lock.ts');
    }
    assertExit(await lifeboat(['repo', 'backup', '--repo', repo, source]), 0, 'backup after the lock was released');
  });

  test('a live lock held by restic (shared, backup from a pipe) makes lifeboat check exit 11', async () => {
    const repo = await copyRepo('locked-by-restic');
    const rb = start('restic', ['--repo', repo, '--no-cache', 'backup', '--stdin', '--stdin-filename', 'held'], { stdin: 'pipe' });
    try {
      rb.child.stdin!.write('some bytes\n');
      await waitForLock(repo);
      const r = await lifeboat(['repo', 'check', '--repo', repo]);
      assertExit(r, 11, 'check against restic\'s live lock');
      assert.ok(assertCleanError(r, 'REPO_LOCKED').includes(`PID ${rb.child.pid}`));
    } finally {
      rb.child.stdin!.end();
      assertExit(await rb.done, 0, 'restic backup --stdin');
    }
  });

  test('a damaged pack: check --read-data exits 1 naming the pack, and restic check --read-data agrees', async () => {
    const repo = await copyRepo('damaged-pack');
    const packs = await repoFiles(repo, 'data');
    const victim = packs.reduce((a, b) => (b.size > a.size ? b : a));
    await flipByte(victim.path, Math.floor(victim.size / 3));
    const short = victim.name.slice(0, 8);

    const r = await lifeboat(['repo', 'check', '--read-data', '--repo', repo]);
    assertExit(r, 1, 'lifeboat check --read-data');
    assert.doesNotMatch(r.stderr, /^\s+at /m);
    const errors = r.stdout.split('\n').filter((l) => l.startsWith('error: '));
    assert.ok(errors.length > 0 && errors.every((l) => l.includes(`pack ${short}`)), `every error names pack ${short}:\n${r.stdout}`);
    assert.match(r.stdout, /does not match its name/);
    assert.match(r.stdout, /repository contains errors/);
    // The main thread streams packs itself beside the workers: with one thread it checks every
    // pack, with eight (seven workers) none of these few. Both report the very same findings.
    for (const threads of ['1', '8']) {
      const t = await lifeboat(['repo', 'check', '--read-data', '--repo', repo], { env: baseEnv({ LIFEBOAT_WORKERS: threads }) });
      assertExit(t, 1, `lifeboat check --read-data with LIFEBOAT_WORKERS=${threads}`);
      assert.deepEqual(t.stdout.split('\n').filter((l) => l.startsWith('error: ')), errors, `LIFEBOAT_WORKERS=${threads}`);
    }

    const rr = await restic(repo, ['check', '--read-data']);
    assert.notEqual(rr.code, 0, `restic must also fail:\n${describeRun(rr)}`);
    assert.ok((rr.stdout + rr.stderr).includes(short), `restic names pack ${short}:\n${describeRun(rr)}`);
    assert.match(rr.stderr, /repository contains errors/);
  });

  test('a damaged index file: restore fails with one clear [INTEGRITY] line naming it and takes no lock with it; check reports it', async () => {
    const repo = await copyRepo('damaged-index');
    const [index] = await repoFiles(repo, 'index');
    assert.ok(index);
    await flipByte(index.path, Math.floor(index.size / 2));
    const short = index.name.slice(0, 8);
    for (const args of [['restore', 'latest', '--target', path.join(work, 'restore-damaged-index')]]) {
      const r = await lifeboat(['repo', ...args, '--repo', repo]);
      assertExit(r, 1, `repo ${args[0]} with a damaged index`);
      const line = assertCleanError(r, 'INTEGRITY');
      assert.ok(line.includes(`index ${short}`), `names index ${short}: ${line}`);
    }
    assert.equal((await repoFiles(repo, 'locks')).length, 0, 'failed commands released their locks');
    const c = await lifeboat(['repo', 'check', '--repo', repo]);
    assertExit(c, 1, 'check with a damaged index');
    assert.match(c.stdout, new RegExp(`error: index ${short} cannot be loaded`));
    assert.doesNotMatch(c.stderr, /^\s+at /m);
    const rr = await restic(repo, ['check']);
    assert.notEqual(rr.code, 0, `restic check also fails:\n${describeRun(rr)}`);
  });

  test('a truncated snapshot file: snapshots warns naming it and lists the rest; check reports it; latest and the intact snapshot still restore', async () => {
    const repo = await copyRepo('truncated-snapshot');
    const snaps = await repoFiles(repo, 'snapshots');
    assert.equal(snaps.length, 2);
    const victim = snaps[0]!;
    await fsp.truncate(victim.path, Math.floor(victim.size / 2));
    const short = victim.name.slice(0, 8);
    const r = await lifeboat(['repo', 'snapshots', '--repo', repo, '--json']);
    assertExit(r, 0, 'repo snapshots with a truncated snapshot (as restic: warn, list the rest)');
    assert.match(r.stderr, new RegExp(`warning: snapshot ${short} cannot be loaded`));
    assert.doesNotMatch(r.stderr, /^\s+at /m);
    const listed = JSON.parse(r.stdout) as { id: string }[];
    assert.deepEqual(listed.map((x) => x.id), [snaps[1]!.name], 'the intact snapshot is listed, the damaged one is not');
    const c = await lifeboat(['repo', 'check', '--repo', repo]);
    assertExit(c, 1, 'check with a truncated snapshot');
    assert.match(c.stdout, new RegExp(`error: snapshot ${short} cannot be loaded`));
    assert.doesNotMatch(c.stderr, /^\s+at /m);
    const rr = await restic(repo, ['check']);
    assert.notEqual(rr.code, 0, `restic check also fails:\n${describeRun(rr)}`);
    // The intact snapshot stays restorable by id.
    const good = snaps[1]!;
    const target = path.join(work, 'restore-good');
    assertExit(await lifeboat(['repo', 'restore', good.name.slice(0, 12), '--target', target, '--repo', repo]), 0, 'restore of the intact snapshot');
  });

  test('a usage error exits 2 without a stack trace', async () => {
    const r = await run(LIFEBOAT, ['repo', 'backup', '--repo', pristine, '--no-such-flag']);
    assertExit(r, 2, 'unknown flag');
    assertCleanError(r, 'USAGE');
  });

  test('--repo takes restic location strings: local: opens the directory; sftp: and s3: say the backend is not built yet (exit 1), a malformed one is a usage error', async () => {
    const ok = await lifeboat(['repo', 'snapshots', '--json', '--repo', `local:${pristine}`]);
    assertExit(ok, 0, 'snapshots of local:');
    assert.ok(Array.isArray(JSON.parse(ok.stdout)));
    for (const loc of ['sftp:backup@nas.local:/srv/lifeboat', 's3:s3.amazonaws.com/bucket/lifeboat']) {
      const r = await lifeboat(['repo', 'snapshots', '--repo', loc]);
      assertExit(r, 1, loc);
      assert.match(assertCleanError(r, 'BACKEND'), /backend is not built yet/);
    }
    const env = baseEnv({ RESTIC_REPOSITORY: 'rest:https://user:hunter2@backup.example.org/' });
    const secret = await lifeboat(['repo', 'snapshots'], { env });
    assertExit(secret, 1, 'rest: with a password');
    assert.doesNotMatch(secret.stderr, /hunter2/, 'the password in a location is never printed');
    const bad = await lifeboat(['repo', 'snapshots', '--repo', 'sftp:nas-without-path']);
    assertExit(bad, 2, 'malformed sftp location');
    assertCleanError(bad, 'USAGE');
  });
});

describe('damaged key files', () => {
  test('a key file with a flipped byte is named as damaged; with no other key the repository is refused with INTEGRITY, never a crash', async () => {
    const { mkdtemp, rm, readdir, readFile, writeFile, chmod } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const dir = await mkdtemp(path.join(tmpdir(), 'lifeboat-badkey-'));
    try {
      const repo = path.join(dir, 'repo');
      const env = { ...process.env, LIFEBOAT_PASSWORD: 'pw' };
      const { spawnSync } = await import('node:child_process');
      const init = spawnSync(LIFEBOAT, ['repo', 'init', '--repo', repo], { env, encoding: 'utf8' });
      assert.equal(init.status, 0, init.stderr);
      const [key] = await readdir(path.join(repo, 'keys'));
      const kp = path.join(repo, 'keys', key!);
      const bytes = await readFile(kp);
      bytes[10] = bytes[10]! ^ 0x01; // inside the JSON: the file no longer matches its name
      await chmod(kp, 0o600);
      await writeFile(kp, bytes);
      const r = spawnSync(LIFEBOAT, ['repo', 'snapshots', '--repo', repo], { env, encoding: 'utf8' });
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /every key file is damaged: [0-9a-f]{8}/);
      assert.match(r.stderr, /\[INTEGRITY\]/);
      assert.doesNotMatch(r.stderr, /^\s+at /m);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
