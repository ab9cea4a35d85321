#!/usr/bin/env node
// Runs every *.test.ts under src/ and test/ with node's test runner (Node 20's --test does not
// expand globs). Extra arguments narrow the run: `npm test -- chunker` runs files whose path
// contains "chunker".
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(import.meta.url), '..', '..');
const filters = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const files = [];
const walk = (d) => {
  for (const n of readdirSync(d)) {
    const p = join(d, n);
    if (statSync(p).isDirectory()) walk(p);
    else if (n.endsWith('.test.ts')) files.push(relative(root, p));
  }
};
for (const d of ['src', 'test', 'scripts']) {
  try {
    walk(join(root, d));
  } catch {
    /* folder absent */
  }
}
const chosen = files.sort().filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)));
if (chosen.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...chosen], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
