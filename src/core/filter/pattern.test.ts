import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LifeboatError } from '../errors.ts';
import { cleanPath, compilePatterns, patternProblem } from './pattern.ts';

type Case = readonly [pattern: string, path: string, expected: boolean];

// One pattern against one path: the semantics of restic 0.14's filter.Match (its matchTests),
// restated here. Windows drive-letter cases are left out: lifeboat is Linux-only.
const MATCH: readonly Case[] = [
  ['*.go', '/foo/bar/test.go', true],
  ['*.c', '/foo/bar/test.go', false],
  ['*', '/foo/bar/test.go', true],
  ['**', '/foo/bar/test.go', true],
  ['foo*', '/foo/bar/test.go', true], // matches the parent /foo, so everything below
  ['bar*', '/foo/bar/test.go', true],
  ['/bar*', '/foo/bar/test.go', false],
  ['bar/*', '/foo/bar/test.go', true],
  ['baz/*', '/foo/bar/test.go', false],
  ['bar/test.go', '/foo/bar/test.go', true],
  ['bar/*.go', '/foo/bar/test.go', true],
  ['ba*/*.go', '/foo/bar/test.go', true],
  ['bb*/*.go', '/foo/bar/test.go', false],
  ['test.*', '/foo/bar/test.go', true],
  ['tesT.*', '/foo/bar/test.go', false],
  ['bar', '/foo/bar', true],
  ['/foo/bar', '/foo/bar', true],
  ['/foo/bar/', '/foo/bar', true], // trailing '/' is cleaned away
  ['/foo/bar', '/foo/baz', false],
  ['/foo/bar', '/foo/baz/', false],
  ['/foo///bar', '/foo/bar', true],
  ['/foo/../bar', '/foo/bar', false],
  ['/foo/../bar', '/bar', true],
  ['/foo', '/foo/baz', true],
  ['/foo/', '/foo/baz', true],
  ['/foo/*', '/foo', false],
  ['/foo/*', '/foo/baz', true],
  ['bar', '/foo/bar/baz', true],
  ['bar', '/foo/bar/test.go', true],
  ['/foo/*test.*', '/foo/bar/test.go', false],
  ['/foo/*/test.*', '/foo/bar/test.go', true],
  ['/foo/*/bar/test.*', '/foo/bar/test.go', false],
  ['/*/*/bar/test.*', '/foo/bar/test.go', false],
  ['/*/*/bar/test.*', '/foo/bar/baz/test.go', false],
  ['/*/*/baz/test.*', '/foo/bar/baz/test.go', true],
  ['/*/foo/bar/test.*', '/foo/bar/baz/test.go', false],
  ['/foo/bar/test.*', 'bar/baz/test.go', false],
  ['/x/y/bar/baz/test.*', 'bar/baz/test.go', false],
  ['baz/test.*', 'bar/baz/test.go', true],
  ['baz/tesT.*', 'bar/baz/test.go', false],
  ['test.go', 'bar/baz/test.go', true],
  ['*.go', 'bar/baz/test.go', true],
  ['*.c', 'bar/baz/test.go', false],
  ['sdk', '/foo/bar/sdk', true],
  ['sdk', '/foo/bar/sdk/test/sdk_foo.go', true],
  ['sdk/*/cpp/*/*vars*.html', '/usr/share/doc/libreoffice/sdk/docs/cpp/ref/a00517.html', false],
  ['foo/**/bar/*.go', '/home/user/foo/work/special/project/bar/test.go', true],
  ['foo/**/bar/*.go', '/home/user/foo/bar/test.go', true],
  ['foo/**/bar/*.go', 'x/foo/bar/test.go', true],
  ['foo/**/bar/*.go', 'foo/bar/test.go', true],
  ['foo/**/bar/*.go', 'foo/bar/baz/bar/test.go', true],
  ['foo/**/bar/*.go', '/home/user/foo/test.c', false],
  ['foo/**/bar/*.go', 'bar/foo/main.go', false],
  ['foo/**/bar/*.go', '/foo/bar/main.go', true],
  ['foo/**/bar/*.go', 'bar/main.go', false],
  ['foo/**/bar', '/home/user/foo/x/y/bar', true],
  ['foo/**/bar', '/home/user/foo/x/y/bar/main.go', true],
  ['foo/**/bar/**/x', '/home/user/foo/bar/x', true],
  ['foo/**/bar/**/x', '/home/user/foo/blaaa/blaz/bar/shared/work/x', true],
  ['user/**/important*', '/home/user/work/x/y/hidden/x', false],
  ['user/**/hidden*/**/c', '/home/user/work/x/y/hidden/z/a/b/c', true],
  // Further cases pinned down while reading restic's match(); the oracle test backs them.
  ['*/.cache', '/.cache', false], // a relative pattern never matches the root marker
  ['*/.cache', '/home/.cache', true],
  ['.cache', '/.cache', true],
  ['/', '/anything/at/all', true], // "/" splits to ["/", ""], and "" acts as `**`
  ['/**', '/foo', true],
  ['**/foo', '/foo', true],
  ['/a/**/b', '/a/b', true],
  ['/a/**/b', '/a/x/y/b/c', true],
  ['/a/**/b', '/a/x/y/c', false],
  ['a/**', '/x/a', true],
  ['./foo', '/x/foo', true],
  ['foo/..', '/x/y', false], // cleans to "."; matches a component literally named "."
];

// restic's childMatchTests: may anything below the path match?
const CHILD: readonly Case[] = [
  ['foo/bar', '/foo', true],
  ['baz/bar', '/foo', true],
  ['foo', '/foo/bar', true],
  ['bar', '/foo', true],
  ['baz', '/foo/bar', true],
  ['*', '/foo', true],
  ['*', '/foo/bar', true],
  ['/foo/bar', '/foo', true],
  ['/foo/bar/baz', '/foo', true],
  ['/foo/bar/baz', '/foo/bar', true],
  ['/foo/bar/baz', '/foo/baz', false],
  ['/foo/**/baz', '/foo/bar/baz', true],
  ['/foo/**/baz', '/foo/bar/baz/blah', true],
  ['/foo/**/qux', '/foo/bar/baz/qux', true],
  ['/foo/**/qux', '/foo/bar/baz', true],
  ['/foo/**/qux', '/foo/bar/baz/boo', true],
  ['/foo/**', '/foo/bar/baz', true],
  ['/foo/**', '/foo/bar', true],
  ['foo/**/bar/**/x', '/home/user/foo', true],
  ['foo/**/bar/**/x', '/home/user/foo/bar', true],
  ['foo/**/bar/**/x', '/home/user/foo/blaaa/blaz/bar/shared/work/x', true],
  ['/foo/*/qux', '/foo/bar', true],
  ['/foo/*/qux', '/foo/bar/boo', false],
  ['/foo/*/qux', '/foo/bar/boo/xx', false],
  ['/baz/bar', '/foo', false],
  ['/foo', '/foo/bar', true],
  ['/*', '/foo', true],
  ['/*', '/foo/bar', true],
  ['/**', '/foo', true],
  ['/*/**', '/foo', true],
  ['/*/**', '/foo/bar', true],
  ['/*/bar', '/foo', true],
  ['/bar/*', '/foo', false],
  ['/foo/*/baz', '/foo/bar', true],
  ['/foo/*/baz', '/foo/baz', true],
  ['/foo/*/baz', '/bar/baz', false],
  ['/**/*', '/foo', true],
  ['/**/bar', '/foo/bar', true],
];

// restic's filterListTests: ordered lists with negation -> [match, childMayMatch].
const LIST: readonly (readonly [patterns: readonly string[], path: string, match: boolean, child: boolean])[] = [
  [[], '/foo/bar/test.go', false, false],
  [['*.go'], '/foo/bar/test.go', true, true],
  [['*.go'], '/foo/bar', false, true],
  [['*.c'], '/foo/bar/test.go', false, true],
  [['*.go', '*.c'], '/foo/bar/test.go', true, true],
  [['*'], '/foo/bar/test.go', true, true],
  [['x'], '/foo/bar/test.go', false, true],
  [['?'], '/foo/bar/test.go', false, true],
  [['?', 'x'], '/foo/bar/x', true, true],
  [['/*/*/bar/test.*'], '/foo/bar/test.go', false, false],
  [['/*/*/bar/test.*'], '/foo/bar/bar', false, true],
  [['/*/*/bar/test.*', '*.go'], '/foo/bar/test.go', true, true],
  [['', '*.c'], '/foo/bar/test.go', false, true],
  [['!**', '*.go'], '/foo/bar/test.go', true, true],
  [['!**', '*.c'], '/foo/bar/test.go', false, true],
  [['/foo/*/test.*', '!*.c'], '/foo/bar/test.c', false, false],
  [['/foo/*/test.*', '!*.c'], '/foo/bar/test.go', true, true],
  [['/foo/*/*', '!test.*', '*.c'], '/foo/bar/test.go', false, true],
  [['/foo/*/*', '!test.*', '*.c'], '/foo/bar/test.c', true, true],
  [['/foo/*/*', '!test.*', '*.c'], '/foo/bar/file.go', true, true],
  [['/**/*', '!/foo', '/foo/*', '!/foo/bar'], '/foo/other/test.go', true, true],
  [['/**/*', '!/foo', '/foo/*', '!/foo/bar'], '/foo/bar', false, false],
  [['/**/*', '!/foo', '/foo/*', '!/foo/bar'], '/foo/bar/test.go', false, false],
  [['/**/*', '!/foo', '/foo/*', '!/foo/bar'], '/foo/bar/test.go/child', false, false],
  [['/**/*', '!/foo', '/foo/*', '!/foo/bar', '/foo/bar/test*'], '/foo/bar/test.go/child', true, true],
  [['/foo/bar/*'], '/foo', false, true],
  [['/foo/bar/*', '!/foo/bar/[a-m]*'], '/foo', false, true],
  [['/foo/**/test.c'], '/foo/bar/foo/bar/test.c', true, true],
  [['/foo/*/test.c'], '/foo/bar/foo/bar/test.c', false, false],
];

describe('a single pattern (restic filter.Match semantics)', () => {
  for (const [pattern, path, expected] of MATCH) {
    it(`${JSON.stringify(pattern)} ${expected ? 'matches' : 'does not match'} ${path}`, () => {
      assert.equal(compilePatterns([pattern]).excludes(path), expected);
      assert.equal(compilePatterns([pattern]).includeMatch(path).match, expected);
    });
  }
});

describe('includeMatch.childMayMatch (restic filter.ChildMatch semantics)', () => {
  for (const [pattern, path, expected] of CHILD) {
    it(`${JSON.stringify(pattern)} ${expected ? 'may' : 'cannot'} match below ${path}`, () => {
      assert.equal(compilePatterns([pattern]).includeMatch(path).childMayMatch, expected);
    });
  }
});

describe('pattern lists in order, with negation (restic filter.List/ListWithChild)', () => {
  for (const [patterns, path, match, child] of LIST) {
    it(`${JSON.stringify(patterns)} on ${path} -> match ${match}, child ${child}`, () => {
      const matcher = compilePatterns(patterns);
      assert.equal(matcher.excludes(path), match);
      assert.deepEqual(matcher.includeMatch(path), { match, childMayMatch: child });
    });
  }
});

describe('the architecture note backup_excludes.txt', () => {
  const sample = ['*.tmp', '*.bak', '/mnt/media/tmp/', '*/.cache/', '/mnt/hot/downloads/incomplete/', '/mnt/hot/surveillance/tmp/'];
  const matcher = compilePatterns(sample);
  const cases: readonly (readonly [string, boolean])[] = [
    ['/mnt/media/movies/film.mkv', false],
    ['/mnt/media/movies/film.mkv.tmp', true],
    ['/mnt/media/movies/film.tmp.mkv', false],
    ['/srv/app/config.bak', true],
    ['/srv/app/config.BAK', false], // case-sensitive
    ['/srv/app/old.bak/inside.txt', true], // a directory named *.bak takes its contents along
    ['/mnt/media/tmp', true],
    ['/mnt/media/tmp/partial.mkv', true],
    ['/mnt/media/tmpfiles/keep.mkv', false],
    ['/mnt/media/movies/tmp', false], // absolute patterns are anchored at /
    ['/home/alice/.cache', true],
    ['/home/alice/.cache/thumbnails/x.png', true],
    ['/root/.cache/nix/eval.sqlite', true],
    ['/home/alice/.cache.d/x', false],
    ['/.cache', false], // `*/.cache/` needs one component above .cache
    ['/mnt/hot/downloads/incomplete', true],
    ['/mnt/hot/downloads/incomplete/ubuntu.iso.part', true],
    ['/mnt/hot/downloads/complete/ubuntu.iso', false],
    ['/mnt/hot/surveillance/tmp', true], // also if tmp is a file: the trailing '/' is dropped
    ['/mnt/hot/surveillance/cam1/2024-01-01.mp4', false],
    ['/etc/nixos/configuration.nix', false],
  ];
  for (const [path, excluded] of cases) {
    it(`${excluded ? 'excludes' : 'keeps'} ${path}`, () => {
      assert.equal(matcher.excludes(path), excluded);
    });
  }
});

describe('compilePatterns', () => {
  it('reports every invalid pattern at once with code USAGE', () => {
    assert.throws(
      () => compilePatterns(['ok/*', 'test/[', 'test/**/[', '!x[', 'a\\']),
      (err: unknown) =>
        err instanceof LifeboatError &&
        err.code === 'USAGE' &&
        ['"test/["', '"test/**/["', '"!x["', '"a\\"'].every((p) => err.message.includes(p)) &&
        !err.message.includes('ok/*'),
    );
  });

  it('expands the environment only when given one', () => {
    assert.equal(compilePatterns(['$HOME/.cache']).excludes('/home/al/.cache'), false);
    assert.equal(compilePatterns(['$HOME/.cache'], { HOME: '/home/al' }).excludes('/home/al/.cache'), true);
    assert.deepEqual(compilePatterns(['$NOPE', '*.tmp'], {}).patterns, ['*.tmp']);
  });

  it('ignores empty patterns, as restic does', () => {
    assert.deepEqual(compilePatterns(['', '*.c']).patterns, ['*.c']);
    assert.equal(compilePatterns(['']).excludes('/x'), false);
  });

  it('refuses an empty path', () => {
    assert.throws(() => compilePatterns(['x']).excludes(''), { code: 'USAGE' });
  });

  it('patternProblem explains a bad bracket and accepts escapes', () => {
    assert.match(patternProblem('/srv/[abc') ?? '', /unclosed/);
    assert.equal(patternProblem('/srv/\\[abc'), undefined);
    assert.equal(patternProblem('!/srv/[a-z]*/**'), undefined);
  });

  it('matches thousands of paths against hundreds of patterns quickly', () => {
    const patterns = Array.from({ length: 300 }, (_, i) => (i % 3 === 0 ? `/srv/p${i}/**/x*.log` : i % 3 === 1 ? `*.e${i}` : `dir${i}/cache`));
    const matcher = compilePatterns(patterns);
    const paths = Array.from({ length: 5000 }, (_, i) => `/srv/p${i % 400}/a/b${i}/c/x${i}.log`);
    const t0 = performance.now();
    let hits = 0;
    for (const p of paths) if (matcher.excludes(p)) hits += 1;
    const ms = performance.now() - t0;
    assert.ok(hits > 0);
    assert.ok(ms < 2000, `took ${ms.toFixed(0)} ms`);
  });
});

describe('cleanPath follows Go path.Clean', () => {
  const cases: readonly (readonly [string, string])[] = [
    ['', '.'],
    ['/', '/'],
    ['/mnt/media/tmp/', '/mnt/media/tmp'],
    ['*/.cache/', '*/.cache'],
    ['a//b/./c/', 'a/b/c'],
    ['/../a', '/a'],
    ['../../a/../b', '../../b'],
    ['a/..', '.'],
  ];
  for (const [input, output] of cases) {
    it(`${JSON.stringify(input)} -> ${JSON.stringify(output)}`, () => assert.equal(cleanPath(input), output));
  }
});
