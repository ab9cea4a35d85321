import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseBenchArgs } from './bench-options.ts';

test('parseBenchArgs defaults to seed 1, scale 1, warm caches, /tmp/lifeboat-bench', () => {
  const r = parseBenchArgs([], '/work/main');
  assert.ok(!r.help && 'options' in r);
  assert.deepEqual(
    { seed: r.options.seed, scale: r.options.scale, keep: r.options.keep, dropCaches: r.options.dropCaches, benchDir: r.options.benchDir, scriptsDir: r.options.scriptsDir, lifeboatBin: r.options.lifeboatBin },
    { seed: 1, scale: 1, keep: false, dropCaches: false, benchDir: '/tmp/lifeboat-bench', scriptsDir: '/work/shared/bench', lifeboatBin: '/work/main/bin/lifeboat' },
  );
});

test('parseBenchArgs reads --scale, --seed, --keep and --drop-caches', () => {
  const r = parseBenchArgs(['--scale', '0.05', '--seed', '7', '--keep', '--drop-caches'], '/x');
  assert.ok(!r.help && 'options' in r);
  assert.equal(r.options.scale, 0.05);
  assert.equal(r.options.seed, 7);
  assert.equal(r.options.keep, true);
  assert.equal(r.options.dropCaches, true);
});

test('parseBenchArgs reports every invalid value at once', () => {
  const r = parseBenchArgs(['--scale', '0', '--seed=1.5', '--dir', '/'], '/x');
  assert.ok(!r.help && 'problems' in r);
  assert.equal(r.problems.length, 3);
});

test('parseBenchArgs refuses unknown flags and positionals', () => {
  for (const argv of [['--scal', '1'], ['extra']]) {
    const r = parseBenchArgs(argv, '/x');
    assert.ok(!r.help && 'problems' in r);
  }
});
