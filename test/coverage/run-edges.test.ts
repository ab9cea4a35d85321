/**
 * `lifeboat run` at its edges, through the real CLI against real restic: a Ctrl-C in the middle
 * of a backup (exit 130, recorded as interrupted, not failed), stdout closed early (`run | head`:
 * the backup finishes and is recorded, no stack trace), a night where nothing could be backed
 * up (an unmounted share is an error; every cell skipped is exit 13), a wrong password (exit 12
 * with the code kept), `--dry-run` (a plan per cell, nothing written or recorded), and the
 * command line itself (--help for every command, --version, "did you mean").
 */
import assert from 'node:assert/strict';
import { promises as fsp, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cleanupTestDrives, mountTmpfs, randomLabel } from '../../src/ops/devices/test-drive.ts';
import { StateStore } from '../../src/ops/state/state-store.ts';
import { ROOT, cell, lifeboat, listTree, requireEnvironment, restic, resticSnapshots, runLines, scratch, seededBytes, spawnLifeboat, statusJson, umount, untilExists, writeTree } from './harness.ts';

const STACK = /\n\s+at |EPIPE|Error: write/;

describe('run at its edges', () => {
  let dir: string;
  let passwordFile: string;
  let config: string;
  let repo: string;
  let share: string;

  before(async () => {
    requireEnvironment();
    ({ dir, passwordFile } = await scratch());
    repo = path.join(dir, 'disk', 'repo');
    share = path.join(dir, 'share');
    await fsp.mkdir(path.dirname(repo), { recursive: true });
    await writeTree(path.join(dir, 'receipts'), { '2026/receipt-1.pdf': seededBytes(1, 4096), 'index.txt': 'receipts\n' });
    // Enough content for several progress lines: a backup that is still running when stdout closes.
    await writeTree(path.join(dir, 'media'), Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`clip-${i}.bin`, seededBytes(50 + i, 8 << 20)])));
    config = path.join(dir, 'lifeboat.yaml');
    await fsp.writeFile(
      config,
      `state_dir: ${dir}/state
destinations:
  disk:
    kind: local
    path: ${repo}
    password_file: ${passwordFile}
  share:
    kind: nas
    path: ${share}/lifeboat
    password_file: ${passwordFile}
  stick:
    kind: usb
    label: ${randomLabel()}
    mountpoint: ${dir}/mnt/stick
    password_file: ${passwordFile}
sources:
  receipts:
    paths: [${dir}/receipts]
    priority: high
    frequency: daily
    destinations: [disk, share, stick]
  media:
    paths: [${dir}/media]
    priority: low
    frequency: weekly
    destinations: [disk]
  slow-dump:
    command: [sh, -c, 'head -c 3000000 /dev/urandom; touch ${dir}/dump-started; exec sleep 60']
    filename: dump.sql
    priority: low
    frequency: manual
    destinations: [disk]
`,
    );
    await mountTmpfs(share);
    for (const d of ['disk', 'share']) {
      const e = await lifeboat(config, ['drive', 'enroll', d]);
      assert.equal(e.code, 0, e.stderr);
    }
  });

  after(async () => {
    await cleanupTestDrives();
  });

  it('--help and -h print each command\'s usage and exit 0; --version prints package.json\'s version; typos get "did you mean"', async () => {
    for (const args of [['run', '--help'], ['run', '-h'], ['status', '--help'], ['usb', '-h'], ['drive', 'enroll', '--help'], ['config', 'check', '-h'], ['restore', '--help'], ['drill', '-h'], ['check', '--help'], ['forget', '-h'], ['init', '--help'], ['repo', 'backup', '--help'], ['demo', '-h']]) {
      const r = await lifeboat(config, args);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr, '', `${args.join(' ')} wrote to stderr`);
      assert.match(r.stdout, new RegExp(`^Usage:\\n  lifeboat ${args[0]} `), args.join(' '));
      assert.match(r.stdout, /Exit codes: /);
    }
    const backup = await lifeboat(config, ['repo', 'backup', '-h']);
    assert.doesNotMatch(backup.stdout, /repo restore/, 'a subcommand gets its own lines only');

    const v = await lifeboat(config, ['--version']);
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.deepEqual([v.code, v.stdout], [0, `lifeboat ${pkg.version}\n`]);

    const src = await lifeboat(config, ['run', '--source', 'recipts']);
    assert.equal(src.code, 2, src.stderr);
    assert.match(src.stderr, /^lifeboat: No source named recipts in .*lifeboat\.yaml: did you mean receipts\? \[USAGE\]$/m);
    assert.match(src.stderr, /hint: the sources there: receipts, media, slow-dump/);
    const dst = await lifeboat(config, ['run', '--destination', 'dsik']);
    assert.match(dst.stderr, /No destination named dsik in .*: did you mean disk\? \[USAGE\]/);
    const cmd = await lifeboat(config, ['stauts']);
    assert.equal(cmd.code, 2);
    assert.match(cmd.stderr, /Unknown command "stauts": did you mean status\? \[USAGE\]/);
  });

  it('--dry-run says per cell what would happen and writes and records nothing', async () => {
    const before = await listTree(repo);
    const r = await lifeboat(config, ['run', '--dry-run', '--source', 'receipts']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`^would run  receipts -> disk: selected \\(no success yet\\); disk ready at ${repo}, source guards pass$`, 'm'));
    assert.match(r.stdout, /^would run  receipts -> share: selected/m);
    assert.match(r.stdout, /^would skip receipts -> stick: selected \(no success yet\); .* is not plugged in$/m);
    assert.match(r.stdout, /^dry run: nothing was written and nothing recorded$/m);
    const j = await lifeboat(config, ['run', '--dry-run', '--due', '--json']);
    const plans = j.stdout.trim().split('\n').map((l) => JSON.parse(l) as { source: string; destination: string; due: boolean; would: string; destination_state: string });
    assert.deepEqual(
      plans.map((p) => `${p.source}->${p.destination} ${p.would} ${p.destination_state}`).sort(),
      ['media->disk run ready', 'receipts->disk run ready', 'receipts->share run ready', 'receipts->stick skip absent', 'slow-dump->disk not-due ready'],
    );
    assert.deepEqual(await listTree(repo), before, 'nothing was written');
    const state = StateStore.open(path.join(dir, 'state'));
    try {
      assert.deepEqual(state.runs(), [], 'nothing was recorded');
    } finally {
      state.close();
    }
  });

  it('stdout closed after the first line (run --json | head -1) does not stop the backup: it finishes, is recorded, no stack trace', async () => {
    const r = await spawnLifeboat(config, ['run', '--json', '--source', 'media'], (child, firstLine) => {
      void firstLine.then(() => child.stdout!.destroy());
    });
    assert.equal(r.stderr.match(STACK), null, `no stack trace or EPIPE on stderr:\n${r.stderr}`);
    assert.equal(r.code, 0, r.stderr);
    const snaps = await resticSnapshots(repo, passwordFile, 'source:media');
    assert.equal(snaps.length, 1, 'the snapshot was written');
    const s = cell((await statusJson(config)).cells, 'media', 'disk');
    assert.equal(s.state, 'OK');
    assert.equal(s.snapshot, snaps[0]!.id);
    assert.ok(s.bytes_added! > 40 << 20, `bytes_added is what the run added: ${s.bytes_added}`);

    // status too: its output goes nowhere, its answer is still its exit code.
    const st = await spawnLifeboat(config, ['status'], (child) => child.stdout!.destroy());
    assert.equal(st.stderr.match(STACK), null, st.stderr);
  });

  it('a run whose every due cell was skipped says so and exits 13; an unmounted share is an error (DEVICE_UNAVAILABLE, 13), an unplugged drive beside a good copy is not', async () => {
    const skipped = await lifeboat(config, ['run', '--source', 'receipts', '--destination', 'stick']);
    assert.equal(skipped.code, 13, skipped.stdout + skipped.stderr);
    assert.match(skipped.stdout, /^ABSENT  receipts -> stick: .* is not plugged in \(skipped\)$/m);
    assert.match(skipped.stdout, /^nothing backed up: 1 due cell was skipped, its destination is not here$/m);

    const mixed = await lifeboat(config, ['run', '--json', '--source', 'receipts']);
    assert.equal(mixed.code, 0, 'disk and share took the copy; the drive is simply away');
    assert.deepEqual(runLines(mixed.stdout).cells.map((c) => `${c.destination} ${c.outcome}`).sort(), ['disk success', 'share success', 'stick absent']);

    await umount(share);
    // status says so before any run tries: the copy there is fresh, but the share is gone.
    const gone = cell((await statusJson(config)).cells, 'receipts', 'share');
    assert.deepEqual([gone.state, gone.destination_present], ['FAILED', false]);
    const r = await lifeboat(config, ['run', '--json', '--source', 'receipts', '--destination', 'share']);
    assert.equal(r.code, 13, r.stdout + r.stderr);
    const c = cell(runLines(r.stdout).cells, 'receipts', 'share');
    assert.deepEqual([c.outcome, c.code], ['failed', 'DEVICE_UNAVAILABLE']);
    assert.match(c.hint!, /mount the share/);
    const text = await lifeboat(config, ['run', '--source', 'receipts']);
    assert.equal(text.code, 13, 'the only failure is the unmounted share');
    assert.match(text.stdout, /^FAILED  receipts -> share: .* \[DEVICE_UNAVAILABLE\]$/m);
    assert.match(text.stdout, /^OK      receipts -> disk: 2 files, 0 written, /m);
    const s = cell((await statusJson(config)).cells, 'receipts', 'share');
    assert.deepEqual([s.state, s.last_code], ['FAILED', 'DEVICE_UNAVAILABLE']);
  });

  it('a wrong password exits 12 and the cell keeps the code WRONG_PASSWORD', async () => {
    const wrong = path.join(dir, 'secrets', 'wrong');
    await fsp.writeFile(wrong, 'not the password\n', { mode: 0o600 });
    const cfg = path.join(dir, 'wrong.yaml');
    await fsp.writeFile(cfg, (await fsp.readFile(config, 'utf8')).replaceAll(passwordFile, wrong));
    const r = await lifeboat(cfg, ['run', '--json', '--destination', 'disk', '--source', 'receipts']);
    assert.equal(r.code, 12, r.stdout + r.stderr);
    const c = cell(runLines(r.stdout).cells, 'receipts', 'disk');
    assert.deepEqual([c.outcome, c.code], ['failed', 'WRONG_PASSWORD']);
    const s = cell((await statusJson(cfg)).cells, 'receipts', 'disk');
    assert.deepEqual([s.state, s.last_code], ['FAILED', 'WRONG_PASSWORD']);
    const ok = await lifeboat(config, ['run', '--source', 'receipts', '--destination', 'disk']);
    assert.equal(ok.code, 0, ok.stderr);
  });

  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    it(`${sig} during a backup exits 130, prints interrupted (not FAILED), records the cell as interrupted and leaves no snapshot`, async () => {
      const before = (await resticSnapshots(repo, passwordFile)).length;
      const started = path.join(dir, 'dump-started');
      await fsp.rm(started, { force: true });
      const r = await spawnLifeboat(config, ['run', '--source', 'slow-dump'], (child) => {
        // Once the dump command has written its 3 MB and sleeps, the backup is reading its stdin.
        void untilExists(started).then(() => setTimeout(() => child.kill(sig), 300));
      });
      assert.equal(r.code, 130, r.stdout + r.stderr);
      assert.match(r.stdout, /^INTERRUPTED slow-dump -> disk: interrupted after \d+:\d\d, no snapshot written$/m);
      assert.doesNotMatch(r.stdout + r.stderr, /FAILED|operation was aborted/);
      assert.match(r.stderr, /^lifeboat: interrupted: .* \[INTERRUPTED\]$/m);
      assert.equal((await resticSnapshots(repo, passwordFile)).length, before, 'no snapshot of an interrupted run');
      const check = await restic(repo, passwordFile, ['check']);
      assert.equal(check.code, 0, check.stdout + check.stderr);
      const s = cell((await statusJson(config)).cells, 'slow-dump', 'disk');
      assert.deepEqual([s.state, s.last_code, s.last_error], ['INTERRUPTED', 'INTERRUPTED', 'interrupted']);
      const state = StateStore.open(path.join(dir, 'state'));
      try {
        assert.equal(state.lastRun('slow-dump', 'disk')?.outcome, 'interrupted');
      } finally {
        state.close();
      }
    });
  }
});
