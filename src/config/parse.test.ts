import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseYaml } from './parse.ts';

const TEXT = `base: &defaults
  priority: high
sources:
  pg:
    <<: *defaults
    command: pg_dumpall --clean
    destinations: [usb-media, nas]
  media:
    paths:
      - /mnt/media
`;

describe('parseYaml', () => {
  it('returns the data of a clean document', () => {
    const y = parseYaml(TEXT, 'x.yaml');
    assert.deepEqual(y.problems, []);
    assert.deepEqual((y.data as { sources: { pg: unknown } }).sources.pg, {
      priority: 'high',
      command: 'pg_dumpall --clean',
      destinations: ['usb-media', 'nas'],
    });
  });

  it('locates keys, values, list items and merged keys', () => {
    const { locate } = parseYaml(TEXT, 'x.yaml');
    assert.deepEqual(locate(['sources', 'pg', 'command']), { line: 6, col: 5 });
    assert.deepEqual(locate(['sources', 'pg', 'command'], 'value'), { line: 6, col: 14 });
    assert.deepEqual(locate(['sources', 'pg', 'destinations', 1], 'value'), { line: 7, col: 31 });
    assert.deepEqual(locate(['sources', 'pg', 'destinations', '1'], 'value'), { line: 7, col: 31 });
    assert.deepEqual(locate(['sources', 'media', 'paths', 0], 'value'), { line: 10, col: 9 });
    // A merged key is found where it is written, in the anchored map.
    assert.deepEqual(locate(['sources', 'pg', 'priority'], 'value'), { line: 2, col: 13 });
  });

  it('puts a missing key at the deepest part of its path that exists', () => {
    const { locate } = parseYaml(TEXT, 'x.yaml');
    assert.deepEqual(locate(['sources', 'media', 'frequency']), { line: 8, col: 3 });
    assert.deepEqual(locate(['destinations', 'nas']), { line: 1, col: 1 });
  });

  it('points at the key, not the first child, for a block map or list value', () => {
    const { locate } = parseYaml(TEXT, 'x.yaml');
    assert.deepEqual(locate(['sources', 'media', 'paths'], 'value'), { line: 9, col: 5 });
  });

  it('points at the key of an empty value', () => {
    const { locate } = parseYaml('sources:\n  pg:\n    priority:\n', 'x.yaml');
    assert.deepEqual(locate(['sources', 'pg', 'priority'], 'value'), { line: 3, col: 5 });
  });

  it('reports syntax errors with their position and a hint, and no data', () => {
    const cases: readonly (readonly [string, number, number, RegExp])[] = [
      ['a: 1\na: 2\n', 2, 1, /each key may appear once/],
      ['sources:\n\tpg: 1\n', 2, 1, /indent with spaces/],
      ['a: "open\nb: 2\n', 3, 1, /close the quote/],
      ['a:\n  - x\n - y\n', 3, 1, /indentation/],
      ['x: !secret 3\n', 1, 4, /remove the !tag/],
    ];
    for (const [text, line, col, hint] of cases) {
      const y = parseYaml(text, 'bad.yaml');
      assert.equal(y.data, undefined, text);
      const [first] = y.problems;
      assert.ok(first !== undefined, `no problem for ${JSON.stringify(text)}`);
      assert.equal(first.code, 'YAML_SYNTAX');
      assert.deepEqual([first.file, first.line, first.col], ['bad.yaml', line, col], JSON.stringify(text));
      assert.match(first.hint ?? first.message, hint);
      assert.doesNotMatch(first.message, /\n/);
      assert.equal(new Set(y.problems.map((p) => p.line)).size, y.problems.length, 'one problem a line');
    }
  });
});
