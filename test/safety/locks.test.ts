/**
 * Locks shared with restic 0.14 (restic-format.md §9.1): a running lifeboat holds a lock restic
 * honours and can decode; a finished or interrupted run leaves none; a run killed outright
 * leaves one that blocks restic until `restic unlock`, but never blocks lifeboat's next run.
 * Each lifeboat run here backs up stdin from a pipe the test keeps open, so the instant at
 * which it holds its lock is under the test's control.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import {
  LIFEBOAT,
  assertExit,
  describeRun,
  initRepo,
  killStragglers,
  killAndReap,
  lifeboat,
  repoFiles,
  requireTools,
  restic,
  seededBytes,
  sleep,
  start,
  tempDir,
  waitForLock,
  type Started,
} from './harness.ts';

let work: string;
let source: string;
let n = 0;

async function freshRepo(): Promise<string> {
  const repo = path.join(work, `repo-${n++}`);
  await initRepo(repo);
  return repo;
}

/** A `lifeboat repo backup --stdin` whose stdin stays open; resolves once its lock is settled. */
async function backupFromPipe(repo: string, name: string, first: Buffer): Promise<{ run: Started; lockId: string }> {
  const run = start(LIFEBOAT, ['repo', 'backup', '--repo', repo, '--stdin', '--stdin-filename', name], { stdin: 'pipe' });
  run.child.stdin!.write(first);
  const lockId = await waitForLock(repo);
  // Acquiring writes the lock, waits 200 ms and re-checks; let that finish before racing it.
  await sleep(600);
  return { run, lockId };
}

async function resticLocks(repo: string): Promise<string[]> {
  const r = await restic(repo, ['list', 'locks', '--no-lock']);
  assertExit(r, 0, 'restic list locks');
  return r.stdout.split('\n').filter((l) => /^[0-9a-f]{64}$/.test(l));
}

before(async () => {
  requireTools('restic');
  work = await tempDir('locks');
  source = path.join(work, 'source');
  await fsp.mkdir(source);
  await fsp.writeFile(path.join(source, 'small.bin'), seededBytes('locks-small', 200_000));
});

after(async () => {
  await killStragglers();
  if (work) await fsp.rm(work, { recursive: true, force: true });
});

describe('locks shared with restic', () => {
  test('while lifeboat backs up, restic sees and decodes its lock, and restic prune and check fail with "already locked"; afterwards no lock remains', async () => {
    const repo = await freshRepo();
    const data = seededBytes('pipe-data', 3 << 20);
    const { run, lockId } = await backupFromPipe(repo, 'from-pipe.bin', data.subarray(0, 1 << 20));
    try {
      assert.deepEqual(await resticLocks(repo), [lockId]);
      const cat = await restic(repo, ['cat', 'lock', lockId, '--no-lock']);
      assertExit(cat, 0, 'restic cat lock');
      const lock = JSON.parse(cat.stdout) as { exclusive: boolean; pid: number; hostname: string };
      assert.equal(lock.pid, run.child.pid, 'restic decodes our lock and reads our PID');
      assert.equal(lock.exclusive, false, 'backup takes a shared lock');

      for (const cmd of [['prune'], ['check']]) {
        const r = await restic(repo, cmd);
        assert.notEqual(r.code, 0, `restic ${cmd[0]} must refuse:\n${describeRun(r)}`);
        assert.match(r.stderr, /repository is already locked/, `restic ${cmd[0]}`);
        assert.match(r.stderr, new RegExp(`PID ${run.child.pid}`));
      }
      // A shared restic command runs beside it.
      assertExit(await restic(repo, ['snapshots']), 0, 'restic snapshots beside our shared lock');
      assert.deepEqual(await resticLocks(repo), [lockId], 'restic left our lock alone');
      run.child.stdin!.end(data.subarray(1 << 20));
      assertExit(await run.done, 0, 'lifeboat backup --stdin');
    } finally {
      if (run.child.exitCode === null) await killAndReap(run);
    }
    assert.deepEqual(await resticLocks(repo), [], 'the finished run removed its lock');
    assertExit(await restic(repo, ['check']), 0, 'restic check, no unlock needed');
    const target = path.join(work, 'restic-restored');
    assertExit(await restic(repo, ['restore', 'latest', '--target', target]), 0, 'restic restore');
    assert.ok((await fsp.readFile(path.join(target, 'from-pipe.bin'))).equals(data), 'restic restores exactly what was piped in');
  });

  test('SIGTERM and SIGINT stop a backup waiting on an idle pipe: exit 130, no snapshot, no lock', async () => {
    const repo = await freshRepo();
    for (const sig of ['SIGTERM', 'SIGINT'] as const) {
      const { run } = await backupFromPipe(repo, `interrupted-${sig}`, seededBytes(sig, 100_000));
      const timer = setTimeout(() => run.child.kill('SIGKILL'), 20_000);
      const r = await killAndReap(run, sig);
      clearTimeout(timer);
      assert.equal(r.signal, null, `${sig}: the run must stop by itself, not be killed\n${describeRun(r)}`);
      assertExit(r, 130, `${sig} during backup`);
      assert.match(r.stderr, /\[INTERRUPTED\]/);
      assert.doesNotMatch(r.stderr, /^\s+at /m);
    }
    assert.deepEqual(await repoFiles(repo, 'locks'), [], 'no lock (and no temp file) is left');
    assert.deepEqual(await repoFiles(repo, 'snapshots'), [], 'an interrupted run saves no snapshot');
    assertExit(await restic(repo, ['check']), 0, 'restic check');
  });

  test('a lock left by a SIGKILLed lifeboat blocks restic until `restic unlock`, but not the next lifeboat backup', async () => {
    const repo = await freshRepo();
    const { run, lockId } = await backupFromPipe(repo, 'killed.bin', seededBytes('killed', 1 << 20));
    const killed = await killAndReap(run, 'SIGKILL');
    assert.equal(killed.signal, 'SIGKILL');
    assert.deepEqual(await resticLocks(repo), [lockId], 'the killed run left its lock');

    // restic 0.14 does not skip stale locks when locking (§9.1): its exclusive commands need unlock.
    const blocked = await restic(repo, ['check']);
    assert.notEqual(blocked.code, 0, describeRun(blocked));
    assert.match(blocked.stderr, /already locked/);
    assert.match(blocked.stderr, /unlock/, 'restic points at `restic unlock`');

    // lifeboat removes a dead process's lock on this host by itself.
    assertExit(await lifeboat(['repo', 'backup', '--repo', repo, source]), 0, 'lifeboat backup after the kill, without unlock');
    assert.deepEqual(await resticLocks(repo), [], 'the stale lock is gone, and the new run released its own');
    assertExit(await restic(repo, ['check']), 0, 'restic check now runs without unlock');

    // And restic's own remedy works on our lock: `restic unlock` sees it as stale (same host, dead PID).
    const second = await backupFromPipe(repo, 'killed-again.bin', seededBytes('killed-again', 1 << 20));
    await killAndReap(second.run, 'SIGKILL');
    const unlock = await restic(repo, ['unlock']);
    assertExit(unlock, 0, 'restic unlock');
    assert.deepEqual(await resticLocks(repo), [], 'restic unlock removed the dead run\'s lock');
    assertExit(await restic(repo, ['check']), 0, 'restic check after restic unlock');
  });

  test('a lock left by a SIGKILLed restic does not block lifeboat either', async () => {
    const repo = await freshRepo();
    const rb = start('restic', ['--repo', repo, '--no-cache', 'backup', '--stdin', '--stdin-filename', 'r.bin'], { stdin: 'pipe' });
    rb.child.stdin!.write('restic was here\n');
    const lockId = await waitForLock(repo);
    await sleep(600);
    await killAndReap(rb, 'SIGKILL');
    assert.deepEqual(await resticLocks(repo), [lockId]);
    const check = await lifeboat(['repo', 'check', '--repo', repo]);
    assertExit(check, 0, 'lifeboat check (exclusive) past restic\'s dead lock');
    assert.deepEqual(await resticLocks(repo), []);
  });
});
