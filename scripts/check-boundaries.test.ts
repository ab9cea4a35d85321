import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkBoundaries, importsOf } from './check-boundaries.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** A throwaway tree: { 'src/core/a/x.ts': "import ... " }. */
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(path.join(tmpdir(), 'lifeboat-boundaries-'));
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel), text);
  }
  return root;
}

const CLEAN = {
  'src/core/errors.ts': 'export const x = 1;\n',
  'src/core/ids.ts': "import { x } from './errors.ts';\n",
  'src/core/repo/index.ts': "export { open } from './open.ts';\n",
  'src/core/repo/open.ts': "import { x } from '../errors.ts';\nexport const open = x;\n",
  'src/config/index.ts': "import { open } from '../core/repo/index.ts';\n",
  'src/ops/jobs/run.ts': "import type { open } from '../../core/repo/index.ts';\nimport '../../config/index.ts';\n",
  'src/cli/main.ts': "const m = () => import('../ops/jobs/run.ts');\n",
};

test('the repository itself passes: imports point down, no deep imports, no folder cycles', () => {
  assert.deepEqual(checkBoundaries(ROOT).map((v) => v.message), []);
});

test('a clean tree passes, and each planted violation is found and named', (t) => {
  const roots: string[] = [];
  t.after(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));
  const check = (extra: Record<string, string>): string[] => {
    const r = tree({ ...CLEAN, ...extra });
    roots.push(r);
    return checkBoundaries(r).map((v) => `${v.kind}: ${v.message}`);
  };
  assert.deepEqual(check({}), []);
  assert.deepEqual(check({ 'src/core/extra/x.ts': "import { x } from '../../ops/jobs/run.ts';\n" }), [
    'upward: src/core/extra/x.ts imports src/ops/jobs/run.ts: src/core may not import src/ops (arrows point down)',
  ]);
  // Upward into a folder that imports back is both an upward import and a cycle.
  assert.deepEqual(check({ 'src/core/repo/open.ts': "import { x } from '../../ops/jobs/run.ts';\n" }), [
    'upward: src/core/repo/open.ts imports src/ops/jobs/run.ts: src/core may not import src/ops (arrows point down)',
    'cycle: folders import each other in a circle: src/config, src/core/repo, src/ops/jobs',
  ]);
  assert.deepEqual(check({ 'src/generators/units.ts': "import type { Run } from '../ops/jobs/run.ts';\n" }), [
    'upward: src/generators/units.ts imports src/ops/jobs/run.ts: src/generators may not import src/ops (arrows point down)',
  ]);
  assert.deepEqual(check({ 'src/ops/jobs/run.ts': "import { open } from '../../core/repo/open.ts';\n" }), [
    'deep: src/ops/jobs/run.ts imports src/core/repo/open.ts: src/core/repo is entered only through its index.ts',
  ]);
  assert.deepEqual(check({ 'src/core/repo/test-fixture.ts': 'export const f = 1;\n', 'src/ops/jobs/run.test.ts': "import { f } from '../../core/repo/test-fixture.ts';\n" }), [], 'a test may use a test helper');
  assert.deepEqual(check({ 'src/core/repo/test-fixture.ts': 'export const f = 1;\n', 'src/ops/jobs/run.ts': "import { f } from '../../core/repo/test-fixture.ts';\n" }), [
    'deep: src/ops/jobs/run.ts imports src/core/repo/test-fixture.ts: src/core/repo is entered only through its index.ts',
  ]);
  assert.deepEqual(check({ 'src/core/a/a.ts': "import '../b/b.ts';\n", 'src/core/b/b.ts': "import '../c/c.ts';\n", 'src/core/c/c.ts': "import type { A } from '../a/a.ts';\n" }), [
    'cycle: folders import each other in a circle: src/core/a, src/core/b, src/core/c',
  ]);
});

test('imports are read from static, re-export, side-effect and dynamic forms; packages are not ours', () => {
  const src = [
    "import { a } from './a.ts';",
    "import type { B } from '../b/index.ts';",
    "export { c } from './c.ts';",
    "import './d.ts';",
    "const e = await import('../e.ts');",
    "import { readFileSync } from 'node:fs';",
    "import Database from 'better-sqlite3';",
    '// a comment that mentions from nothing',
  ].join('\n');
  assert.deepEqual(importsOf(src), ['./a.ts', '../b/index.ts', './c.ts', './d.ts', '../e.ts']);
});
