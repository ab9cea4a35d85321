import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LifeboatError } from '../errors.ts';
import { decodeRune, goQuote, goUnquote, isGoPrint, isValidUtf8 } from './go-quote.ts';
import { decodePrintTable, encodePrintTable, GO119_PRINT_TABLE } from './go-print-table.ts';
import { mulberry32 as prng } from '../../../test/support/prng.ts';

const q = (s: string | Buffer): string => goQuote(typeof s === 'string' ? Buffer.from(s, 'utf8') : s);

test('goQuote keeps printable text literal', () => {
  assert.equal(q('hello world.txt'), 'hello world.txt');
  assert.equal(q('café'), 'café');
  assert.equal(q('cafe\u0301'), 'cafe\u0301', 'combining marks are printable');
  assert.equal(q('😀'), '😀');
  assert.equal(q('a<b>&c'), 'a<b>&c', 'HTML characters are JSON business, not Quote business');
  assert.equal(q('\ufffd'), '\ufffd', 'a real U+FFFD is printable');
});

test('goQuote uses the short escapes, \\\\ and \\"', () => {
  assert.equal(q('tab\there'), 'tab\\there');
  assert.equal(q('new\nline'), 'new\\nline');
  assert.equal(q('\x07\b\f\r\v'), '\\a\\b\\f\\r\\v');
  assert.equal(q('we"ird\\name'), 'we\\"ird\\\\name');
});

test('goQuote writes \\xNN for other controls, DEL and each invalid UTF-8 byte', () => {
  assert.equal(q('\x00\x01\x1f\x7f'), '\\x00\\x01\\x1f\\x7f');
  assert.equal(q(Buffer.from([0x62, 0x61, 0x64, 0xff, 0x6e, 0x61, 0x6d, 0x65])), 'bad\\xffname');
  assert.equal(q(Buffer.from([0xe2, 0x82])), '\\xe2\\x82', 'a truncated sequence is escaped byte by byte');
  assert.equal(q(Buffer.from([0xc0, 0xaf])), '\\xc0\\xaf', 'overlong encodings are invalid');
  assert.equal(q(Buffer.from([0xed, 0xa0, 0x80])), '\\xed\\xa0\\x80', 'UTF-8-encoded surrogates are invalid');
  assert.equal(q(Buffer.from([0xf4, 0x90, 0x80, 0x80])), '\\xf4\\x90\\x80\\x80', 'above U+10FFFF is invalid');
});

test('goQuote writes \\u / \\U for valid but non-printable runes', () => {
  assert.equal(q('nb\u00a0sp'), 'nb\\u00a0sp');
  assert.equal(q('soft\u00adhyphen'), 'soft\\u00adhyphen');
  assert.equal(q('\u0085'), '\\u0085', 'C1 controls are runes, so \\u not \\x');
  assert.equal(q('zw\u200bsp'), 'zw\\u200bsp');
  assert.equal(q('\u2028\u2029\ufeff'), '\\u2028\\u2029\\ufeff');
  assert.equal(q('\ue000'), '\\ue000', 'private use is not printable');
  assert.equal(q('\u{f0000}'), '\\U000f0000');
  assert.equal(q('\u{e0001}'), '\\U000e0001', 'language tag (Cf)');
});

test('isGoPrint follows Go on Latin-1 and the category rule above it', () => {
  assert.equal(isGoPrint(0x20), true);
  assert.equal(isGoPrint(0x7f), false);
  assert.equal(isGoPrint(0xa0), false);
  assert.equal(isGoPrint(0xa1), true);
  assert.equal(isGoPrint(0xad), false);
  assert.equal(isGoPrint(0x3000), false, 'ideographic space is Zs, not printable');
  assert.equal(isGoPrint(0x4e00), true);
  assert.equal(isGoPrint(0xd800), false);
  assert.equal(isGoPrint(0x110000), false);
  assert.equal(isGoPrint(0x1f600), true, 'an emoji of Unicode 6');
  assert.equal(isGoPrint(0x1fae0), false, 'an emoji of Unicode 14 is unassigned for go1.19');
  assert.equal(isGoPrint(0x0870), false, 'an Arabic letter of Unicode 14');
});

test('goQuote escapes runes newer than Unicode 13 as restic 0.14 does', () => {
  assert.equal(q('\u{1fae0}melt'), '\\U0001fae0melt');
  assert.equal(q('\u0870x'), '\\u0870x');
});

test('the go1.19 print table is sorted, disjoint and inside the Unicode letters/marks/numbers/punctuation/symbols', () => {
  const ranges = decodePrintTable(GO119_PRINT_TABLE);
  let prevEnd = 0xff;
  let count = 0;
  for (let i = 0; i < ranges.length; i += 2) {
    const [s, e] = [ranges[i]!, ranges[i + 1]!];
    assert.ok(s > prevEnd + 1 || i === 0, `ranges are maximal and ordered at ${s.toString(16)}`);
    assert.ok(e >= s && e <= 0x10ffff);
    prevEnd = e;
    count += e - s + 1;
  }
  const graphic = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;
  let newer = 0;
  for (let cp = 0x100; cp <= 0x10ffff; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    const go = isGoPrint(cp);
    if (go) assert.ok(graphic.test(String.fromCodePoint(cp)), `U+${cp.toString(16)} printable for Go but not a graphic category`);
    else if (graphic.test(String.fromCodePoint(cp))) newer++;
  }
  assert.ok(count > 140_000, `${count} printable runes`);
  assert.ok(newer < 20_000, `${newer} runes are printable only in the engine's newer Unicode`);
  assert.equal(encodePrintTable(Array.from({ length: ranges.length / 2 }, (_, i) => [ranges[2 * i]!, ranges[2 * i + 1]!] as const)), GO119_PRINT_TABLE);
});

test('decodeRune agrees with Node on valid text and rejects invalid bytes one at a time', () => {
  assert.deepEqual(decodeRune(Buffer.from('é'), 0), [0xe9, 2]);
  assert.deepEqual(decodeRune(Buffer.from('€'), 0), [0x20ac, 3]);
  assert.deepEqual(decodeRune(Buffer.from('😀'), 0), [0x1f600, 4]);
  assert.deepEqual(decodeRune(Buffer.from([0xe0, 0x80, 0x80]), 0), [0xfffd, 1]);
  assert.deepEqual(decodeRune(Buffer.from([0x80]), 0), [0xfffd, 1]);
  assert.equal(isValidUtf8(Buffer.from('ok ✓')), true);
  assert.equal(isValidUtf8(Buffer.from([0x61, 0xff])), false);
});

test('goUnquote reverses every escape form', () => {
  assert.deepEqual(goUnquote('tab\\there'), Buffer.from('tab\there'));
  assert.deepEqual(goUnquote('bad\\xffname'), Buffer.from([0x62, 0x61, 0x64, 0xff, 0x6e, 0x61, 0x6d, 0x65]));
  assert.deepEqual(goUnquote('\\a\\b\\f\\n\\r\\t\\v\\\\\\"'), Buffer.from('\x07\b\f\n\r\t\v\\"'));
  assert.deepEqual(goUnquote('\\101\\377\\000'), Buffer.from([0x41, 0xff, 0x00]));
  assert.deepEqual(goUnquote('\\u00e9\\U0001F600'), Buffer.from('é😀'));
  assert.deepEqual(goUnquote('\\u0041'), Buffer.from('A'));
  assert.deepEqual(goUnquote('\\xC3\\xa9'), Buffer.from('é'), 'hex digits in either case');
  assert.deepEqual(goUnquote('literal\ttab and ünïcödé'), Buffer.from('literal\ttab and ünïcödé'));
  assert.deepEqual(goUnquote(''), Buffer.alloc(0));
});

test('goUnquote refuses what Go refuses', () => {
  for (const bad of ['a"b', 'a\nb', '\\q', '\\', 'x\\', "\\'", '\\x4', '\\xzz', '\\400', '\\12', '\\18a', '\\u12', '\\ud800', '\\U00110000', '\\U0000dfff']) {
    assert.throws(() => goUnquote(bad), (e: unknown) => e instanceof LifeboatError && e.code === 'MALFORMED', JSON.stringify(bad));
  }
});

test('goUnquote(goQuote(b)) is b for random byte strings (seeded fuzz)', () => {
  const rand = prng(0x5eed);
  const pool = [
    ...[0x00, 0x07, 0x09, 0x0a, 0x0d, 0x1b, 0x22, 0x27, 0x5c, 0x7f, 0x80, 0xbf, 0xc0, 0xc2, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff].map((b) => Buffer.from([b])),
    ...['a', ' ', 'é', '€', '😀', '\u00a0', '\u2028', '\ue000', '\ufeff', '\u{10ffff}', '\ufffd'].map((s) => Buffer.from(s)),
  ];
  for (let iter = 0; iter < 5000; iter++) {
    const parts: Buffer[] = [];
    const n = Math.floor(rand() * 12);
    for (let i = 0; i < n; i++) {
      parts.push(rand() < 0.5 ? pool[Math.floor(rand() * pool.length)]! : Buffer.from([Math.floor(rand() * 256)]));
    }
    const b = Buffer.concat(parts);
    const quoted = goQuote(b);
    assert.ok(!/["\n]/.test(quoted.replace(/\\./g, '')), 'no bare quote or newline');
    assert.deepEqual(goUnquote(quoted), b, `round trip of ${b.toString('hex')}`);
  }
});
