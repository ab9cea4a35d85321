/**
 * Two runs on one destination at once (a timer and a USB plug-in, say) never interleave: the
 * second is refused while the first holds the destination, or waits for it with --wait.
 */
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cell, lifeboat, requireEnvironment, restic, resticSnapshots, runLines, scratch } from './harness.ts';

describe('two runs on the same destination at once', () => {
  let dir: string;
  let passwordFile: string;
  let config: string;
  let repo: string;

  before(async () => {
    requireEnvironment();
    ({ dir, passwordFile } = await scratch());
    repo = path.join(dir, 'dest', 'repo');
    await fsp.mkdir(path.join(dir, 'dest'));
    config = path.join(dir, 'lifeboat.yaml');
    // A slow dump keeps the first run on the destination for a few seconds.
    await fsp.writeFile(
      config,
      `state_dir: ${dir}/state
destinations:
  repo:
    kind: local
    path: ${repo}
    password_file: ${passwordFile}
sources:
  slow-db:
    command: sleep 3; echo "select 1;"
    filename: db.sql
    priority: low
    frequency: daily
    destinations: [repo]
`,
    );
    const e = await lifeboat(config, ['drive', 'enroll', 'repo']);
    assert.equal(e.code, 0, e.stderr);
  });

  after(async () => {
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('refuses the second run while the first holds the destination', async () => {
    const first = lifeboat(config, ['run', '--json']);
    await new Promise((r) => setTimeout(r, 1500));
    const second = await lifeboat(config, ['run', '--json']);
    const a = await first;
    assert.equal(a.code, 0, a.stdout + a.stderr);
    assert.equal(second.code, 11, second.stdout + second.stderr);
    const c = cell(runLines(second.stdout).cells, 'slow-db', 'repo');
    assert.equal(c.outcome, 'failed');
    assert.match(c.error!, /another lifeboat run \(PID \d+\) is using it/);
    assert.equal((await resticSnapshots(repo, passwordFile)).length, 1, 'exactly one snapshot: nothing interleaved');
  });

  it('with --wait the second run waits for the first and then runs', async () => {
    const first = lifeboat(config, ['run', '--json']);
    await new Promise((r) => setTimeout(r, 1500));
    const second = await lifeboat(config, ['run', '--json', '--wait', '60']);
    assert.equal((await first).code, 0);
    assert.equal(second.code, 0, second.stdout + second.stderr);
    assert.equal(cell(runLines(second.stdout).cells, 'slow-db', 'repo').outcome, 'success');
    assert.equal((await resticSnapshots(repo, passwordFile)).length, 3);
    const check = await restic(repo, passwordFile, ['check', '--read-data']);
    assert.equal(check.code, 0, check.stdout + check.stderr);
  });
});
