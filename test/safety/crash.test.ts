/**
 * Crash safety of backup (restic-format.md §1 atomic writes, §9.2 write ordering): a
 * `lifeboat repo backup` of a ~60 MB multi-file tree is SIGKILLed at deterministic-random
 * instants spread over its measured duration. After every kill, restic 0.14's
 * `check --read-data` must find no errors in the repository exactly as the kill left it, the
 * next lifeboat backup must complete with no manual unlock, and its restore must equal the
 * source byte for byte.
 *
 * restic's own check takes an exclusive lock, and restic does not skip a dead process's lock
 * (§9.1), so it is run with `--no-lock` to inspect the repository untouched; where the kill left
 * a lock, a plain `restic check` is shown to need `restic unlock` first. lifeboat itself never
 * does.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import {
  LIFEBOAT,
  assertExit,
  assertSameTree,
  describeRun,
  initRepo,
  killAndReap,
  killStragglers,
  lifeboat,
  makeTree,
  prng,
  repoFiles,
  requireTools,
  restic,
  sleep,
  start,
  tempDir,
  treeDigest,
  waitFor,
  waitForLock,
} from './harness.ts';

// CI runs a handful; `npm run soak` sets LIFEBOAT_SOAK_TRIALS=50.
const TRIALS = Math.max(3, Number(process.env.LIFEBOAT_SOAK_TRIALS ?? 6));
const CHUNKING_TRIALS = Math.max(2, Math.round(TRIALS / 3));
const SEED = 0x5afe_c0de;

let work: string;
let source: string;
let template: string;
let sourceBytes = 0;
let sourceDigest: Map<string, string>;

interface Trial {
  readonly n: number;
  readonly delayMs: number;
  readonly anchor: 'lock' | 'first pack';
  readonly phase: string;
  readonly finishedBeforeKill: boolean;
  readonly lockLeft: boolean;
  readonly packs: number;
  readonly indexes: number;
  readonly snapshots: number;
  readonly tempFiles: number;
  readonly tempBytes: number;
  readonly orphanPacks: number;
  readonly orphanBytes: number;
  readonly restoredBytes: number;
  readonly bytesLost: number;
}
const trials: Trial[] = [];

/** Resolves once a pack (or its temp file) exists in the repository. */
function waitForDataWrite(repo: string): Promise<true> {
  return waitFor(`a pack in ${repo}`, async () => ((await repoFiles(repo, 'data')).length > 0 ? true : undefined), 120_000);
}

async function copyTemplate(name: string): Promise<string> {
  const dst = path.join(work, name);
  await fsp.cp(template, dst, { recursive: true });
  return dst;
}

before(async () => {
  requireTools('restic');
  // tmpfs: a SIGKILL loses no page-cache data, so disk and fsync costs would only slow the
  // suite (power loss is another matter, and not what this proves).
  work = await tempDir('crash', '/dev/shm');
  source = path.join(work, 'source');
  sourceBytes = (await makeTree(source, 'crash-source', 60 << 20)).bytes;
  sourceDigest = await treeDigest(source);
  template = path.join(work, 'template');
  await initRepo(template);
});

after(async () => {
  await killStragglers();
  if (work) await fsp.rm(work, { recursive: true, force: true });
  if (trials.length > 0) {
    const lines = trials.map(
      (t) =>
        `#${t.n} kill at ${t.anchor} +${t.delayMs} ms (${t.phase}): lock left ${t.lockLeft ? 'yes' : 'no'}, ` +
        `${t.packs} packs / ${t.indexes} index / ${t.snapshots} snapshots on disk, ${t.orphanPacks} orphan packs (${t.orphanBytes} B), ` +
        `${t.tempFiles} temp files (${t.tempBytes} B); next backup + restore ${t.restoredBytes} B, lost ${t.bytesLost} B`,
    );
    process.stdout.write(`# crash trials (source ${sourceBytes} B):\n${lines.map((l) => `#   ${l}`).join('\n')}\n`);
  }
});

describe('a backup killed at any instant leaves a valid repository', () => {
  test(`${TRIALS} SIGKILLs spread over a ~60 MB backup: restic check --read-data passes, the next backup needs no unlock, its restore equals the source`, async () => {
    // Measure a whole run here, now (the machine may be shared and busy): when it holds its
    // lock, when its first pack file appears, when it exits. Start-up varies too much to aim by,
    // so every kill is timed from an event of its own run.
    const measureRepo = await copyTemplate('measure');
    const m = start(LIFEBOAT, ['repo', 'backup', '--repo', measureRepo, source]);
    await waitForLock(measureRepo, 120_000);
    const tLock = Date.now();
    await Promise.race([waitForDataWrite(measureRepo), m.done]);
    const tWrite = Date.now();
    assertExit(await m.done, 0, 'measuring backup');
    const tEnd = Date.now();
    const chunking = tWrite - tLock;
    let writing = tEnd - tWrite;
    await fsp.rm(measureRepo, { recursive: true });
    process.stdout.write(`# measured run: ${chunking} ms from lock to first pack write, ${writing} ms from there to exit\n`);

    const rnd = prng(SEED);
    for (let n = 0; n < TRIALS; n++) {
      // Stratified, deterministic-random instants: two in the chunking phase (timed from the
      // lock), four in the writing phase (packs, index, snapshot; timed from the first pack file).
      const inWriting = n >= CHUNKING_TRIALS;
      const k = inWriting ? n - CHUNKING_TRIALS : n;
      const strata = inWriting ? TRIALS - CHUNKING_TRIALS : CHUNKING_TRIALS;
      // (The writing phase is sampled up to 90% of its measured length: a run a little faster
      // than the measured one would otherwise finish before its last kill.)
      const delayMs = Math.round(((inWriting ? 0.9 * writing : chunking) * (k + rnd())) / strata);
      const repo = await copyTemplate(`trial-${n}`);
      const run = start(LIFEBOAT, ['repo', 'backup', '--repo', repo, source]);
      const exitedAt = run.done.then(() => Date.now());
      await Promise.race([inWriting ? waitForDataWrite(repo) : waitForLock(repo, 120_000), run.done]);
      const anchoredAt = Date.now();
      await Promise.race([sleep(delayMs), run.done]);
      const finishedBeforeKill = run.child.exitCode !== null;
      // The machine may have been busier while measuring than now: a run that beat its kill
      // shortens the writing phase the later kills are spread over.
      if (finishedBeforeKill && inWriting) writing = Math.min(writing, Math.max(1, (await exitedAt) - anchoredAt));
      const killed = await killAndReap(run, 'SIGKILL'); // reaped: its PID is dead from here on
      if (finishedBeforeKill) assertExit(killed, 0, `trial ${n}: run that finished before its kill`);

      const locks = (await repoFiles(repo, 'locks')).filter((f) => !f.name.includes('-tmp-'));
      const all = [...(await repoFiles(repo, 'data')), ...(await repoFiles(repo, 'index')), ...(await repoFiles(repo, 'snapshots')), ...(await repoFiles(repo, 'locks'))];
      const temps = all.filter((f) => f.name.includes('-tmp-'));
      const packs = (await repoFiles(repo, 'data')).filter((f) => !f.name.includes('-tmp-'));
      const indexes = (await repoFiles(repo, 'index')).filter((f) => !f.name.includes('-tmp-')).length;
      const snapshots = (await repoFiles(repo, 'snapshots')).filter((f) => !f.name.includes('-tmp-')).length;

      if (locks.length > 0) {
        const blocked = await restic(repo, ['check']);
        assert.notEqual(blocked.code, 0, `trial ${n}: restic check without unlock\n${describeRun(blocked)}`);
        assert.match(blocked.stderr, /already locked/, `trial ${n}: restic is blocked by the dead run's lock, as documented`);
      }
      const chk = await restic(repo, ['--no-lock', 'check', '--read-data'], { timeoutMs: 180_000 });
      assertExit(chk, 0, `trial ${n} (kill ${delayMs} ms after its ${inWriting ? 'first pack' : 'lock'}): restic check --read-data on the repository as the kill left it`);
      assert.match(chk.stdout, /no errors were found/);
      const orphanIds = [...(chk.stdout + chk.stderr).matchAll(/pack ([0-9a-f]{8})[0-9a-f]*: not referenced in any index/g)].map((x) => x[1]!);
      const orphanBytes = packs.filter((p) => orphanIds.includes(p.name.slice(0, 8))).reduce((s, p) => s + p.size, 0);

      const again = await lifeboat(['repo', 'backup', '--repo', repo, source], { timeoutMs: 180_000 });
      assertExit(again, 0, `trial ${n}: the next backup, with no unlock`);
      assert.deepEqual((await repoFiles(repo, 'locks')).filter((f) => !f.name.includes('-tmp-')), [], `trial ${n}: no lock remains after the next run`);

      const target = path.join(work, `restore-${n}`);
      const r = await lifeboat(['repo', 'restore', 'latest', '--repo', repo, '--target', target], { timeoutMs: 180_000 });
      assertExit(r, 0, `trial ${n}: restore`);
      const restoredBytes = await assertSameTree(source, path.join(target, source), sourceDigest);
      trials.push({
        n,
        delayMs,
        anchor: inWriting ? 'first pack' : 'lock',
        phase: finishedBeforeKill ? 'finished' : snapshots > 0 ? (locks.length > 0 ? 'snapshot saved, lock still held' : 'snapshot saved, lock released, not yet exited') : indexes > 0 ? 'index written, no snapshot' : packs.length > 0 || temps.length > 0 ? 'writing packs' : 'chunking, nothing written',
        finishedBeforeKill,
        lockLeft: locks.length > 0,
        packs: packs.length,
        indexes,
        snapshots,
        tempFiles: temps.length,
        tempBytes: temps.reduce((s, f) => s + f.size, 0),
        orphanPacks: orphanIds.length,
        orphanBytes,
        restoredBytes,
        bytesLost: sourceBytes - restoredBytes,
      });
      await fsp.rm(target, { recursive: true });
      await fsp.rm(repo, { recursive: true });
    }
    assert.equal(trials.length, TRIALS);
    const interrupted = trials.filter((t) => !t.finishedBeforeKill);
    assert.ok(interrupted.length >= TRIALS - 1, `at most one run may outpace its kill: ${JSON.stringify(trials)}`);
    assert.ok(interrupted.filter((t) => t.anchor === 'first pack').length >= 3, `kills must land while packs are being written: ${JSON.stringify(trials)}`);
  });
});
