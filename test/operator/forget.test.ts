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
import { LIFEBOAT, Scratch, cleanEnv, lifeboat, requireTools, resticSnapshots, restic, show, writeTree } from './harness.ts';

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
