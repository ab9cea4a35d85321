/**
 * `lifeboat forget`: retention from the config, planned then executed under restic's exclusive
 * lock. Our own rules on top of restic's: the newest verified snapshot of a source survives any
 * policy; a source whose last run failed keeps everything; --dry-run changes nothing; a backup
 * holding a lock stops forget/prune.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { cleanupTestDrives, createTestDrive, randomLabel, type TestDrive } from '../../src/ops/devices/test-drive.ts';
import { LIFEBOAT, Scratch, cleanEnv, lifeboat, localRepoConfig, requireTools, resticSnapshots, restic, show, writeTree, type ResticSnapshot } from './harness.ts';

describe('forget with retention keep_last 1', () => {
  let s: Scratch;
  let config: string;
  let pw: string;
  let repo: string;

  before(async () => {
    requireTools('rsync');
    s = await Scratch.create('forget');
    pw = await s.passwordFile();
    repo = s.path('dest', 'repo');
    await fsp.mkdir(s.path('dest'), { recursive: true });
    await writeTree(s.path('src', 'docs'), { 'a.txt': 'one', 'b.txt': 'two' });
    await writeTree(s.path('src', 'other'), { 'c.txt': 'three' });
    config = s.path('lifeboat.yaml');
    await fsp.writeFile(
      config,
      `state_dir: ${s.path('state')}
destinations:
  repo:
    kind: local
    path: ${repo}
    format: repository
    password_file: ${pw}
    retention: { keep_last: 1 }
sources:
  docs:
    paths: [${s.path('src', 'docs')}]
    priority: medium
    frequency: daily
    destinations: [repo]
  other:
    paths: [${s.path('src', 'other')}]
    priority: medium
    frequency: daily
    destinations: [repo]
`,
    );
    assert.equal((await lifeboat(config, ['drive', 'enroll', 'repo'])).code, 0);
  });
  after(async () => s?.cleanup());

  test('the newest verified snapshot survives keep_last 1; the others but the last go; dry run first changes nothing', async () => {
    assert.equal((await lifeboat(config, ['run', '--source', 'docs'])).code, 0);
    const drill = await lifeboat(config, ['drill', '--source', 'docs', '--full']);
    assert.equal(drill.code, 0, show(drill));
    for (const v of ['x', 'y']) {
      await fsp.writeFile(s.path('src', 'docs', 'a.txt'), v);
      assert.equal((await lifeboat(config, ['run', '--source', 'docs'])).code, 0);
    }
    const before = await resticSnapshots(repo, pw, 'source:docs');
    assert.equal(before.length, 3);
    const verified = before.filter((x) => x.tags?.includes('verified'));
    assert.equal(verified.length, 1);
    assert.equal(verified[0]!.id, before[0]!.id, 'the drilled snapshot is the oldest');

    const dry = await lifeboat(config, ['forget', '--dry-run']);
    assert.equal(dry.code, 0, show(dry));
    assert.match(dry.stdout, new RegExp(`keep\\s+${before[0]!.short_id}.*newest verified snapshot of docs`));
    assert.match(dry.stdout, new RegExp(`remove\\s+${before[1]!.short_id}`));
    assert.match(dry.stdout, new RegExp(`keep\\s+${before[2]!.short_id}.*last snapshot`));
    assert.equal((await resticSnapshots(repo, pw, 'source:docs')).length, 3, 'dry run removed nothing');

    // What a backup killed while filling a pack leaves: its temp file, which no listing shows.
    const leftover = path.join(repo, 'data', 'ab', '0123456789abcdef01234567-tmp-0011223344556677');
    await fsp.writeFile(leftover, Buffer.alloc(100_000, 7));
    assert.equal((await lifeboat(config, ['forget', '--dry-run'])).code, 0);
    await fsp.access(leftover);

    const real = await lifeboat(config, ['forget', '--prune']);
    assert.equal(real.code, 0, show(real));
    assert.match(real.stdout, /removed 1 temp files \(100000 bytes\) left by interrupted writes/);
    await assert.rejects(fsp.access(leftover), 'the temp file is gone');
    const left = (await resticSnapshots(repo, pw, 'source:docs')).map((x) => x.id);
    assert.deepEqual(left, [before[0]!.id, before[2]!.id]);
    const chk = await restic(repo, pw, ['check', '--read-data']);
    assert.equal(chk.code, 0, show(chk));
  });

  test('after a failed run of a source, forget keeps every snapshot of it', async () => {
    assert.equal((await lifeboat(config, ['run', '--source', 'other'])).code, 0);
    await fsp.writeFile(s.path('src', 'other', 'c.txt'), 'changed');
    assert.equal((await lifeboat(config, ['run', '--source', 'other'])).code, 0);
    await fsp.rename(s.path('src', 'other'), s.path('src', 'other-away'));
    const failed = await lifeboat(config, ['run', '--source', 'other']);
    assert.equal(failed.code, 1, show(failed));
    const snaps = await resticSnapshots(repo, pw, 'source:other');
    assert.equal(snaps.length, 2);
    const r = await lifeboat(config, ['forget']);
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, /last run of other here failed/);
    assert.equal((await resticSnapshots(repo, pw, 'source:other')).length, 2, 'nothing of the failed source was forgotten');
    await fsp.rename(s.path('src', 'other-away'), s.path('src', 'other'));
  });

  test('forget --prune is refused while a backup holds a lock on the repository', async () => {
    const env = cleanEnv({ LIFEBOAT_PASSWORD_FILE: pw });
    const child = spawn(LIFEBOAT, ['repo', 'backup', '--repo', repo, '--stdin', '--stdin-filename', 'held.sql'], { env, stdio: ['pipe', 'ignore', 'ignore'] });
    try {
      // Wait until its lock is there.
      const deadline = Date.now() + 30_000;
      while ((await fsp.readdir(`${repo}/locks`)).length === 0) {
        assert.ok(Date.now() < deadline, 'the backup never took its lock');
        await new Promise((r) => setTimeout(r, 100));
      }
      const r = await lifeboat(config, ['forget', '--prune']);
      assert.equal(r.code, 11, show(r));
      assert.match(r.stderr, /REPO_LOCKED/);
    } finally {
      child.stdin.end('select 1;\n');
      await new Promise((r) => child.on('close', r));
    }
  });
});

describe('forget after an in-place restore (retention keep_last 1)', () => {
  let s: Scratch;
  let config: string;
  let pw: string;
  let repo: string;
  let docs: string;

  before(async () => {
    s = await Scratch.create('forget-safety');
    pw = await s.passwordFile();
    repo = s.path('repo');
    docs = s.path('live', 'docs');
    await writeTree(docs, { 'a.txt': 'first' });
    config = s.path('lifeboat.yaml');
    await fsp.writeFile(
      config,
      localRepoConfig({ stateDir: s.path('state'), hostname: 'safety-host', repo, passwordFile: pw, sources: `  docs:\n    paths: [${docs}]\n    priority: medium\n    frequency: daily\n    destinations: [repo]\n` }).replace(
        `    password_file: ${pw}\n`,
        `    password_file: ${pw}\n    retention: { keep_last: 1 }\n`,
      ),
    );
    assert.equal((await lifeboat(config, ['drive', 'enroll', 'repo'])).code, 0);
  });
  after(async () => s?.cleanup());

  test('the safety snapshot is kept for its 30 days and said so, the policy still keeps the newest backup, and an expired one goes', async () => {
    assert.equal((await lifeboat(config, ['run'])).code, 0);
    await fsp.writeFile(path.join(docs, 'a.txt'), 'second');
    assert.equal((await lifeboat(config, ['run'])).code, 0);
    const [older, newest] = (await resticSnapshots(repo, pw, 'source:docs')) as [ResticSnapshot, ResticSnapshot];
    await fsp.writeFile(path.join(docs, 'a.txt'), 'broken on the live system');
    const r = await lifeboat(config, ['restore', '--source', 'docs', '--in-place', '--yes']);
    assert.equal(r.code, 0, show(r));
    const [safety] = await resticSnapshots(repo, pw, 'pre-restore');
    assert.ok(safety);
    // An older lifeboat's safety snapshot (tagged with the source), taken long ago by restic itself.
    const oldStyle = await restic(repo, pw, ['backup', '--host', 'safety-host', '--tag', 'source:docs,pre-restore', '--time', '2020-01-01 00:00:00', docs]);
    assert.equal(oldStyle.code, 0, show(oldStyle));
    const expired = (await resticSnapshots(repo, pw, 'pre-restore')).find((x) => x.id !== safety.id)!;

    const dry = await lifeboat(config, ['forget', '--dry-run']);
    assert.equal(dry.code, 0, show(dry));
    const until = (t: string): string => new Date(Date.parse(t) + 30 * 86_400_000).toISOString().slice(0, 10);
    assert.match(dry.stdout, new RegExp(`keep\\s+${safety.short_id} .*\\(kept for safety: taken before an in-place restore of docs, until ${until(safety.time)}\\)`));
    assert.match(dry.stdout, new RegExp(`remove ${expired.short_id} .*\\(safety snapshot of docs expired on ${until(expired.time)}\\)`));
    // The policy's count: the newest real backup is the "last snapshot", not the safety copy.
    assert.match(dry.stdout, new RegExp(`keep\\s+${newest.short_id} .*\\(last snapshot\\)`));
    assert.match(dry.stdout, new RegExp(`remove ${older.short_id} `));
    assert.match(dry.stdout, /dry run: 2 snapshots would be forgotten; nothing was changed/);

    const real = await lifeboat(config, ['forget', '--prune']);
    assert.equal(real.code, 0, show(real));
    assert.match(real.stdout, new RegExp(`keep\\s+${safety.short_id} .*kept for safety`));
    assert.deepEqual((await resticSnapshots(repo, pw)).map((x) => x.id).sort(), [newest.id, safety.id].sort());
    const chk = await restic(repo, pw, ['check']);
    assert.equal(chk.code, 0, show(chk));
  });
});

describe('forget and restore when a mounted drive has lost its repository', () => {
  let s: Scratch;
  let config: string;
  let pw: string;
  let repo: string;
  let drive: TestDrive;
  let mnt: string;
  const awayLabel = randomLabel();

  before(async () => {
    s = await Scratch.create('forget-lost');
    pw = await s.passwordFile();
    repo = s.path('repo');
    drive = await createTestDrive({ label: randomLabel() });
    mnt = path.join(drive.workDir, 'mnt');
    await drive.mount(mnt);
    await writeTree(s.path('src', 'docs'), { 'a.txt': 'one' });
    config = s.path('lifeboat.yaml');
    const repository = `    format: repository\n    password_file: ${pw}\n    retention: { keep_last: 1 }\n`;
    await fsp.writeFile(
      config,
      `state_dir: ${s.path('state')}
destinations:
  usb-lost:
    kind: usb
    label: ${drive.label}
    mountpoint: ${mnt}
    subdir: lifeboat
${repository}  usb-away:
    kind: usb
    label: ${awayLabel}
    mountpoint: ${s.path('away')}
${repository}  repo:
    kind: local
    path: ${repo}
${repository}  nas-down:
    kind: nas
    path: ${s.path('nas', 'lifeboat')}
${repository}sources:
  docs:
    paths: [${s.path('src', 'docs')}]
    priority: high
    frequency: daily
    destinations: [usb-lost, usb-away, repo]
`,
    );
    for (const d of ['usb-lost', 'repo']) {
      const e = await lifeboat(config, ['drive', 'enroll', d]);
      assert.equal(e.code, 0, show(e));
    }
    for (const v of ['two', 'three']) {
      await fsp.writeFile(s.path('src', 'docs', 'a.txt'), v);
      await lifeboat(config, ['run', '--destination', 'usb-lost']);
      assert.equal((await lifeboat(config, ['run', '--destination', 'repo'])).code, 0);
    }
    // The backup on the drive is lost: the drive is there and mounted, its repository is not.
    await fsp.rm(path.join(mnt, 'lifeboat'), { recursive: true, force: true });
  });
  after(async () => {
    await cleanupTestDrives();
    await s?.cleanup();
  });

  test('forget reports the lost repository, skips the unplugged drive, still applies retention on the next destination, and exits 10', async () => {
    assert.equal((await resticSnapshots(repo, pw, 'source:docs')).length, 2);
    const r = await lifeboat(config, ['forget']);
    assert.equal(r.code, 10, show(r));
    assert.match(r.stderr, new RegExp(`^lifeboat: usb-lost: Cannot open the repository of destination usb-lost: there is no repository on ${drive.label} at ${path.join(mnt, 'lifeboat')} \\(no config file, no enrolment marker\\) \\[NO_REPOSITORY\\]$`, 'm'));
    assert.doesNotMatch(r.stderr + r.stdout, /repo init/, 'a lost backup is not a repository to create');
    assert.match(r.stdout, /^usb-lost: failed: /m);
    assert.match(r.stdout, new RegExp(`^usb-away: skipped: ${awayLabel} is not plugged in$`, 'm'));
    assert.match(r.stdout, /^ {2}forgot 1 snapshots$/m);
    assert.equal((await resticSnapshots(repo, pw, 'source:docs')).length, 1, 'retention ran on the destination after the lost one');

    // Only unplugged drives: nothing failed.
    const away = await lifeboat(config, ['forget', '--destination', 'usb-away']);
    assert.equal(away.code, 0, show(away));
    // A share that should always be there but is not mounted is a failure, not a skip.
    const nas = await lifeboat(config, ['forget', '--destination', 'nas-down']);
    assert.equal(nas.code, 13, show(nas));
    assert.match(nas.stderr, /^lifeboat: nas-down: Cannot apply retention on nas-down: .* \[DEVICE_UNAVAILABLE\]$/m);
  });

  test('snapshots reports every destination: the lost repository as failed, the unplugged drive as skipped, the rest listed', async () => {
    const r = await lifeboat(config, ['snapshots', '--source', 'docs']);
    assert.equal(r.code, 10, show(r));
    assert.match(r.stdout, /^usb-lost: failed: Cannot open the repository of destination usb-lost: there is no repository on /m);
    assert.match(r.stdout, new RegExp(`^usb-away: skipped: ${awayLabel} is not plugged in$`, 'm'));
    const [newest] = await resticSnapshots(repo, pw, 'source:docs');
    assert.match(r.stdout, new RegExp(`^repo: 1 snapshot of docs\n  ${newest!.short_id}  `, 'm'));
  });

  test('restore from the drive says the repository is missing there and points at the other destinations, not at repo init', async () => {
    const r = await lifeboat(config, ['restore', '--source', 'docs', '--destination', 'usb-lost', '--target', s.path('t')]);
    assert.equal(r.code, 10, show(r));
    assert.match(r.stderr, new RegExp(`^lifeboat: Cannot open the repository of destination usb-lost: there is no repository on ${drive.label} at ${path.join(mnt, 'lifeboat')} \\(no config file, no enrolment marker\\) \\[NO_REPOSITORY\\]$`, 'm'));
    assert.match(r.stderr, /^ {2}hint: if lifeboat backed up to usb-lost before, .*put the right drive in place, or restore from another destination \(usb-away, repo\)/m);
    assert.doesNotMatch(r.stderr, /repo init/);
  });
});
