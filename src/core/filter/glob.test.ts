import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileGlob, globProblem } from './glob.ts';

// Single-component cases of Go's filepath.Match (Unix), which restic applies per component.
const MATCHES: readonly (readonly [pattern: string, name: string, expected: boolean])[] = [
  ['abc', 'abc', true],
  ['*', 'abc', true],
  ['*', '', true],
  ['*c', 'abc', true],
  ['a*', 'a', true],
  ['a*', 'abc', true],
  ['a*b*c*d*e*', 'axbxcxdxexxx', true],
  ['a*b?c*x', 'abxbbxdbxebxczzx', true],
  ['a*b?c*x', 'abxbbxdbxebxczzy', false],
  ['ab[c]', 'abc', true],
  ['ab[b-d]', 'abc', true],
  ['ab[e-g]', 'abc', false],
  ['ab[^c]', 'abc', false],
  ['ab[^b-d]', 'abc', false],
  ['ab[^e-g]', 'abc', true],
  ['ab[!c]', 'ab!', true], // '!' is not negation in Go, just a member
  ['ab[!c]', 'abd', false],
  ['a\\*b', 'a*b', true],
  ['a\\*b', 'ab', false],
  ['a\\?', 'a?', true],
  ['a\\?', 'ab', false],
  ['a?b', 'a☺b', true], // '?' is one code point, not one byte
  ['a[^a]b', 'a☺b', true],
  ['a???b', 'a☺b', false],
  ['[a-ζ]*', 'α', true],
  ['*[a-ζ]', 'A', false],
  ['?', '😀', true], // astral code point, two UTF-16 units
  ['[\\]a]', ']', true],
  ['[\\-]', '-', true],
  ['[x\\-]', 'x', true],
  ['[x\\-]', '-', true],
  ['[x\\-]', 'z', false],
  ['[z-a]', 'm', false], // an inverted range matches nothing, and is not an error
  ['[^z-a]', 'm', true],
  ['*x', 'xxx', true],
  ['a]', 'a]', true],
  ['[[]', '[', true],
  ['[*]', '*', true],
  ['[*]', 'a', false],
  ['.*', '.cache', true],
  ['.*', 'cache', false],
  ['*.tmp', 'x.tmp', true],
  ['*.tmp', 'x.tmp.gz', false],
  ['tesT.*', 'test.go', false],
  ['a.c', 'abc', false], // '.' is literal
  ['(a|b)', '(a|b)', true], // regex syntax is literal
  ['a+', 'aa', false],
  ['x\n*', 'x\nyz', true],
];

const INVALID: readonly string[] = ['[]a]', '[-]', '[x-]', '[-x]', '\\', 'a\\', '[a-b-c]', '[', '[^', '[^]', '[^bc', 'a[', '[\\', '[a-\\'];

describe('compileGlob follows Go filepath.Match for one component', () => {
  for (const [pattern, name, expected] of MATCHES) {
    it(`${JSON.stringify(pattern)} ${expected ? 'matches' : 'does not match'} ${JSON.stringify(name)}`, () => {
      assert.equal(compileGlob(pattern)(name), expected);
      assert.equal(globProblem(pattern), undefined);
    });
  }
  for (const pattern of INVALID) {
    it(`rejects ${JSON.stringify(pattern)} as Go would`, () => {
      assert.notEqual(globProblem(pattern), undefined);
      assert.throws(() => compileGlob(pattern));
    });
  }
});
