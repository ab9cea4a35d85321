import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

const root = path.resolve(import.meta.dirname, '..', '..');

test('bin/lifeboat and the installed dist/cli.js both start node with the capped young generation', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'lifeboat-launcher-'));
  try {
    // A preload that records the flags node was started with, then lets the command run.
    const probe = path.join(dir, 'probe.mjs');
    writeFileSync(probe, `import { appendFileSync } from 'node:fs';\nappendFileSync(process.env.PROBE_OUT, JSON.stringify(process.execArgv) + '\\n');\n`);
    const out = path.join(dir, 'argv');
    const env = { ...process.env, NODE_OPTIONS: `--import=${pathToFileURL(probe).href}`, PROBE_OUT: out };
    for (const launcher of [path.join(root, 'bin', 'lifeboat'), path.join(root, 'dist', 'cli.js')]) {
      writeFileSync(out, '');
      const r = spawnSync(launcher, ['help'], { encoding: 'utf8', env });
      assert.equal(r.status, 0, `${launcher}: ${r.stderr}`);
      const argv = JSON.parse(readFileSync(out, 'utf8').trim().split('\n')[0]!) as string[];
      assert.ok(argv.includes('--max-semi-space-size=4'), `${launcher} started node with ${JSON.stringify(argv)}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
