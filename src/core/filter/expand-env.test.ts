import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expandEnv } from './expand-env.ts';

// Go 1.19 os.Expand with restic's exclude-file mapping ($$ -> $, unset -> "").
// The '-', '${}' and '${' rows were confirmed against restic 0.14 itself.
const ENV = { HOME: '/home/al', ROOT: '/r', A_1: 'x', '1': 'one' };
const CASES: readonly (readonly [string, string])[] = [
  ['$HOME/.cache', '/home/al/.cache'],
  ['${HOME}/.cache', '/home/al/.cache'],
  ['${ROOT}x', '/rx'],
  ['$ROOTx', ''], // the name runs as far as [A-Za-z0-9_] goes
  ['$A_1.tmp', 'x.tmp'],
  ['$UNSET/x', '/x'],
  ['price$$.txt', 'price$.txt'],
  ['$$HOME', '$HOME'],
  ['a$', 'a$'], // trailing '$' stays
  ['e$.txt', 'e$.txt'], // '$' before a non-name character stays
  ['x$-y', 'xy'], // '$-' is a special one-character name, unset
  ['g$1.txt', 'gone.txt'],
  ['${1}', 'one'],
  ['a${}b', 'ab'], // eaten
  ['c${d.txt', 'cd.txt'], // unterminated: "${" eaten
  ['no dollar', 'no dollar'],
  ['${HO ME}', ''], // braces take anything up to '}'
];

describe('expandEnv mirrors restic exclude-file expansion', () => {
  for (const [input, output] of CASES) {
    it(`${JSON.stringify(input)} -> ${JSON.stringify(output)}`, () => assert.equal(expandEnv(input, ENV), output));
  }
  it('does not consult inherited object properties', () => {
    assert.equal(expandEnv('$toString', {}), '');
  });
});
