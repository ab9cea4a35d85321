/**
 * `lifeboat config check` reports, through the real CLI and on real directories and mounts,
 * what would otherwise first fail at run time: a source path that is not there, a password
 * file that is not there (and the run then says so in words, not ENOENT), two nas
 * destinations on one share (a tmpfs and a bind mount of it) that only look independent, and
 * PostgreSQL's data files as a file source. Each finding has file:line:col and a hint.
 */
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bindMount, cleanupTestDrives, mountTmpfs } from '../../src/ops/devices/test-drive.ts';
import { cell, lifeboat, requireEnvironment, runLines, scratch } from './harness.ts';

interface Finding {
  readonly code: string;
  readonly level: string;
  readonly path: string;
  readonly hint?: string;
  readonly location?: { readonly file: string; readonly line: number; readonly col: number };
}

describe('config check on this machine', () => {
  let dir: string;
  let config: string;
  let text: string;
  let passwordFile: string;

  before(async () => {
    requireEnvironment();
    ({ dir, passwordFile } = await scratch());
    await mountTmpfs(path.join(dir, 'nas'));
    await bindMount(path.join(dir, 'nas'), path.join(dir, 'nas-view'));
    await fsp.mkdir(path.join(dir, 'data', 'docs'), { recursive: true });
    await fsp.writeFile(path.join(dir, 'data', 'docs', 'a.txt'), 'a\n');
    await fsp.mkdir(path.join(dir, 'pgdata'));
    await fsp.writeFile(path.join(dir, 'pgdata', 'PG_VERSION'), '16\n');
    config = path.join(dir, 'lifeboat.yaml');
    text = `state_dir: ${dir}/state
destinations:
  nas:
    kind: nas
    path: ${dir}/nas/lifeboat
    password_file: ${passwordFile}
  nas-2:
    kind: nas
    path: ${dir}/nas-view/other
    password_file: ${passwordFile}
  local:
    kind: local
    path: ${dir}/local-repo
    password_file: ${dir}/secrets/not-written-yet
sources:
  docs:
    paths: [${dir}/data/docs, ${dir}/data/receipts]
    priority: high
    frequency: daily
    destinations: [nas, nas-2]
  db-files:
    paths: [${dir}/pgdata]
    priority: medium
    frequency: daily
    destinations: [local]
`;
    await fsp.writeFile(config, text);
  });

  after(async () => {
    await cleanupTestDrives();
  });

  const lineOf = (needle: string): number => text.split('\n').findIndex((l) => l.includes(needle)) + 1;

  it('prints every finding at its file:line:col with a hint, and exits 1 for the errors among them', async () => {
    const r = await lifeboat(config, ['config', 'check']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const lines = r.stdout.trim().split('\n');
    const find = (code: string): string => lines.find((l) => l.includes(`[${code}]`)) ?? assert.fail(`no ${code} in:\n${r.stdout}`);
    assert.match(find('SAME_DEVICE'), new RegExp(`^${config}:${lineOf('destinations: [nas, nas-2]')}:\\d+: warning \\[SAME_DEVICE\\]: sources\\.docs\\.destinations: high source "docs" goes to nas and nas-2, which are on one device \\(both on device \\d+:\\d+: .* are on one filesystem\\) \\(.+\\)$`));
    assert.match(find('SOURCE_PATH_MISSING'), new RegExp(`^${config}:${lineOf('data/receipts')}:\\d+: error \\[SOURCE_PATH_MISSING\\]: sources\\.docs\\.paths\\.1: ${dir}/data/receipts of high source "docs" does not exist`));
    assert.match(find('PASSWORD_FILE_UNREADABLE'), new RegExp(`^${config}:${lineOf('not-written-yet')}:\\d+: error \\[PASSWORD_FILE_UNREADABLE\\]: destinations\\.local\\.password_file: password file ${dir}/secrets/not-written-yet of destination "local" does not exist`));
    assert.match(find('LIVE_DATABASE_FILES'), new RegExp(`^${config}:${lineOf('pgdata]')}:\\d+: warning \\[LIVE_DATABASE_FILES\\]: sources\\.db-files\\.paths\\.0: .*pg_dumpall, --clean`));
    assert.match(lines.at(-1) ?? '', /: 2 sources, 3 destinations, 4 policy findings$/);
  });

  it('--json carries the same findings with their locations', async () => {
    const r = await lifeboat(config, ['config', 'check', '--json']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const doc = JSON.parse(r.stdout) as { ok: boolean; warnings: Finding[] };
    assert.equal(doc.ok, false);
    assert.deepEqual(doc.warnings.map((w) => [w.code, w.level, w.path, w.location?.line]), [
      ['SAME_DEVICE', 'warn', 'sources.docs.destinations', lineOf('destinations: [nas, nas-2]')],
      ['SOURCE_PATH_MISSING', 'error', 'sources.docs.paths.1', lineOf('data/receipts')],
      ['LIVE_DATABASE_FILES', 'warn', 'sources.db-files.paths.0', lineOf('pgdata]')],
      ['PASSWORD_FILE_UNREADABLE', 'error', 'destinations.local.password_file', lineOf('not-written-yet')],
    ]);
    for (const w of doc.warnings) assert.ok((w.hint ?? '') !== '', `a hint for ${w.code}`);
  });

  it('enroll and run fail on the missing password file in words, not with ENOENT', async () => {
    const e = await lifeboat(config, ['drive', 'enroll', 'local']);
    assert.equal(e.code, 2, e.stdout + e.stderr);
    assert.match(e.stderr, new RegExp(`Cannot read the password of destination local from ${dir}/secrets/not-written-yet: the file does not exist \\[NO_PASSWORD\\]`));
    assert.match(e.stderr, /put the repository password in that file/);
    assert.doesNotMatch(e.stderr, /ENOENT/);
    // Enrolled while the file was there; then it goes (a secret not deployed after a rebuild).
    const secret = path.join(dir, 'secrets', 'not-written-yet');
    await fsp.writeFile(secret, 'local password\n', { mode: 0o600 });
    const enrolled = await lifeboat(config, ['drive', 'enroll', 'local']);
    assert.equal(enrolled.code, 0, enrolled.stdout + enrolled.stderr);
    await fsp.rm(secret);
    const r = await lifeboat(config, ['run', '--json', '--destination', 'local']);
    const c = cell(runLines(r.stdout).cells, 'db-files', 'local');
    assert.equal(c.outcome, 'failed');
    assert.equal(c.error, `Cannot read the password of destination local from ${secret}: the file does not exist`);
  });
});
