/**
 * Mirror destinations through the CLI: plain files in <root>/current/<source>/, and every file a
 * later run replaces or deletes kept under <root>/versions/<UTC stamp>/<source>/, run after run.
 * A sensitive source must never reach a mirror: `config check` reports it and `run` refuses it.
 */
import assert from 'node:assert/strict';
import { existsSync, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cleanupTestDrives } from '../../src/ops/devices/test-drive.ts';
import { cell, lifeboat, listTree, requireEnvironment, runLines, scratch, writeTree } from './harness.ts';

describe('mirror destination', () => {
  let dir: string;
  let config: string;
  let sensitiveConfig: string;
  let root: string;
  let share: string;
  let dump: string;

  const run = async (cfg: string, args: string[] = []): Promise<ReturnType<typeof runLines> & { code: number | null }> => {
    const r = await lifeboat(cfg, ['run', '--json', ...args]);
    return { code: r.code, ...runLines(r.stdout) };
  };
  const read = (...p: string[]): Promise<string> => fsp.readFile(path.join(root, ...p), 'utf8');
  // Each cell stamps its own version folder, so one run may make several (one per second).
  const stamps = async (source?: string): Promise<string[]> => {
    if (!existsSync(path.join(root, 'versions'))) return [];
    const all = (await fsp.readdir(path.join(root, 'versions'))).sort();
    return source === undefined ? all : all.filter((s) => existsSync(path.join(root, 'versions', s, source)));
  };

  before(async () => {
    requireEnvironment();
    ({ dir } = await scratch());
    root = path.join(dir, 'mirror');
    share = path.join(dir, 'share');
    dump = path.join(dir, 'dump.sql');
    await writeTree(share, { 'letter.txt': 'letter v1\n', 'old.txt': 'to be deleted\n', 'docs/plan.txt': 'plan v1\n', 'docs/keep.txt': 'unchanged\n' });
    await fsp.writeFile(dump, 'dump v1\n');
    const body = `state_dir: ${dir}/state
destinations:
  mirror:
    kind: local
    path: ${root}
    format: mirror
sources:
  share:
    paths: [${share}]
    priority: low
    frequency: daily
    destinations: [mirror]
  db:
    command: [cat, ${dump}]
    filename: db.sql
    priority: low
    frequency: daily
    destinations: [mirror]
`;
    config = path.join(dir, 'lifeboat.yaml');
    await fsp.writeFile(config, body);
    await fsp.mkdir(path.join(dir, 'secrets'), { recursive: true });
    await fsp.writeFile(path.join(dir, 'secrets', 'key.age'), 'AGE-SECRET-KEY-1...\n');
    sensitiveConfig = path.join(dir, 'sensitive.yaml');
    await fsp.writeFile(
      sensitiveConfig,
      `${body}  secrets:
    paths: [${dir}/secrets]
    priority: low
    sensitive: true
    frequency: daily
    destinations: [mirror]
`,
    );
    const e = await lifeboat(config, ['drive', 'enroll', 'mirror']);
    assert.equal(e.code, 0, e.stderr);
  });

  after(async () => {
    await cleanupTestDrives();
  });

  it('the first run copies the sources as plain files and keeps no versions yet', async () => {
    const r = await run(config);
    assert.equal(r.code, 0, JSON.stringify(r.cells));
    assert.equal(cell(r.cells, 'share', 'mirror').outcome, 'success');
    assert.equal(cell(r.cells, 'db', 'mirror').outcome, 'success');
    assert.deepEqual(await listTree(path.join(root, 'current')), [
      'db/',
      'db/db.sql',
      'share/',
      'share/share/',
      'share/share/docs/',
      'share/share/docs/keep.txt',
      'share/share/docs/plan.txt',
      'share/share/letter.txt',
      'share/share/old.txt',
    ]);
    assert.equal(await read('current', 'db', 'db.sql'), 'dump v1\n');
    assert.deepEqual(await stamps(), []);
  });

  it('a second run keeps the replaced and the deleted files under versions/<stamp>/', async () => {
    await fsp.writeFile(path.join(share, 'letter.txt'), 'letter v2\n');
    await fsp.writeFile(path.join(share, 'docs', 'plan.txt'), 'plan v2\n');
    await fsp.rm(path.join(share, 'old.txt'));
    await fsp.writeFile(path.join(share, 'new.txt'), 'new\n');
    await fsp.writeFile(dump, 'dump v2\n');
    const r = await run(config);
    assert.equal(r.code, 0, JSON.stringify(r.cells));
    // Counted as for a repository: files scanned, and of those the ones written (transferred).
    const share2 = cell(r.cells, 'share', 'mirror');
    assert.deepEqual([share2.files, share2.files_written, share2.bytes_added], [4, 3, 'letter v2\n'.length + 'plan v2\n'.length + 'new\n'.length]);
    assert.equal(await read('current', 'share', 'share', 'letter.txt'), 'letter v2\n');
    assert.equal(existsSync(path.join(root, 'current', 'share', 'share', 'old.txt')), false, 'deleted at the source, gone from current/');
    assert.equal(await read('current', 'share', 'share', 'new.txt'), 'new\n');
    assert.equal(await read('current', 'db', 'db.sql'), 'dump v2\n');

    const [stamp, ...more] = await stamps('share');
    assert.deepEqual(more, []);
    assert.match(stamp!, /^\d{8}T\d{6}Z$/);
    assert.deepEqual(await listTree(path.join(root, 'versions', stamp!, 'share')), ['share/', 'share/docs/', 'share/docs/plan.txt', 'share/letter.txt', 'share/old.txt']);
    assert.equal(await read('versions', stamp!, 'share', 'share', 'letter.txt'), 'letter v1\n');
    assert.equal(await read('versions', stamp!, 'share', 'share', 'docs', 'plan.txt'), 'plan v1\n');
    assert.equal(await read('versions', stamp!, 'share', 'share', 'old.txt'), 'to be deleted\n');
    const [dbStamp, ...moreDb] = await stamps('db');
    assert.deepEqual(moreDb, []);
    assert.deepEqual(await listTree(path.join(root, 'versions', dbStamp!, 'db')), ['db.sql']);
    assert.equal(await read('versions', dbStamp!, 'db', 'db.sql'), 'dump v1\n');
  });

  it('a third run adds a new version folder and keeps the earlier one', async () => {
    const [first] = await stamps('share');
    await new Promise((r) => setTimeout(r, 1100)); // version folders are stamped to the second
    await fsp.writeFile(path.join(share, 'letter.txt'), 'letter v3\n');
    await fsp.rm(path.join(share, 'new.txt'));
    const r = await run(config, ['--source', 'share']);
    assert.equal(r.code, 0, JSON.stringify(r.cells));
    const all = await stamps('share');
    assert.equal(all.length, 2);
    assert.equal(all[0], first);
    const second = all[1]!;
    assert.equal(await read('versions', first!, 'share', 'share', 'letter.txt'), 'letter v1\n');
    assert.equal(await read('versions', second, 'share', 'share', 'letter.txt'), 'letter v2\n');
    assert.equal(await read('versions', second, 'share', 'share', 'new.txt'), 'new\n');
    assert.equal(await read('current', 'share', 'share', 'letter.txt'), 'letter v3\n');
    assert.equal(await read('current', 'share', 'share', 'docs', 'keep.txt'), 'unchanged\n');
  });

  it('config check reports a sensitive source routed to a mirror', async () => {
    const r = await lifeboat(sensitiveConfig, ['config', 'check']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /error \[SENSITIVE_TO_MIRROR\]: sources\.secrets\.destinations\.0: sensitive source "secrets" goes to mirror "mirror", which stores files unencrypted/);
    const j = await lifeboat(sensitiveConfig, ['config', 'check', '--json']);
    assert.equal(j.code, 1);
    const doc = JSON.parse(j.stdout) as { ok: boolean; warnings: { code: string; level: string }[] };
    assert.equal(doc.ok, false);
    assert.deepEqual(doc.warnings.map((w) => [w.code, w.level]), [['SENSITIVE_TO_MIRROR', 'error']]);
  });

  it('run refuses to copy a sensitive source onto a mirror and writes nothing of it', async () => {
    const r = await run(sensitiveConfig, ['--source', 'secrets']);
    assert.equal(r.code, 1);
    const c = cell(r.cells, 'secrets', 'mirror');
    assert.equal(c.outcome, 'failed');
    assert.match(c.error!, /source secrets is sensitive and mirror is an unencrypted mirror: refusing to copy it there/);
    assert.equal(existsSync(path.join(root, 'current', 'secrets')), false);
    for (const s of await stamps()) assert.equal(existsSync(path.join(root, 'versions', s, 'secrets')), false);
  });
});
