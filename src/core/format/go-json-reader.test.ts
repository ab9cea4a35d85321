import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LifeboatError } from '../errors.ts';
import { JsonNumber, JsonObject, parseJson, readBase64, readInt64, readString, readStringArray, readUint } from './go-json-reader.ts';

const malformed = (e: unknown): boolean => e instanceof LifeboatError && e.code === 'MALFORMED';
const parse = (s: string | Buffer) => parseJson(typeof s === 'string' ? Buffer.from(s) : s);

test('parseJson keeps numbers as exact text', () => {
  const v = parse('{"inode":18446744073709551615,"x":-1.5e+3}') as JsonObject;
  assert.equal((v.get('inode') as JsonNumber).raw, '18446744073709551615');
  assert.equal(readUint(v.get('inode'), 64, 'inode'), 18446744073709551615n);
  assert.equal((v.get('x') as JsonNumber).raw, '-1.5e+3');
});

test('parseJson decodes strings like Go', () => {
  assert.equal(parse('"a\\u003cb\\/\\n"'), 'a<b/\n');
  assert.equal(parse('"\\ud83d\\ude00"'), '😀');
  assert.equal(parse('"\\ud800x"'), '\ufffdx', 'unpaired high surrogate');
  assert.equal(parse('"\\udc00\\udc00"'), '\ufffd\ufffd', 'low surrogate first');
  assert.equal(parse('"\\ud800\\u0041"'), '\ufffdA', 'the escape after a lone surrogate is kept');
  assert.equal(parse(Buffer.from([0x22, 0x61, 0xe2, 0x82, 0x62, 0x22])), 'a\ufffd\ufffdb', 'one U+FFFD per bad byte');
  assert.equal(parse(Buffer.from('"ü€😀"')), 'ü€😀');
});

test('object keys match case-insensitively and the last duplicate wins, as Go decodes', () => {
  const o = parse('{"Name":"a","name":"b","UID":7,"\u212aey":1,"\u017fize":2}') as JsonObject;
  assert.equal(o.get('name'), 'b');
  assert.equal(readUint(o.get('uid'), 32, 'uid'), 7n);
  assert.ok(o.get('key') instanceof JsonNumber, 'Kelvin sign folds to k');
  assert.ok(o.get('size') instanceof JsonNumber, 'long s folds to s');
});

test('parseJson refuses malformed documents with MALFORMED errors', () => {
  const bad = [
    '', ' ', '{', '{"a":1,}', '[1,]', '[01]', '[1.]', '[.5]', '[-]', '[1e]', '"abc', '"a\nb"', '"\\x41"', '"\\u12"',
    '{"a" 1}', '{a:1}', 'tru', 'nul', '[1] x', '\ufeff{}', '{"a":1}}', "'a'", '[NaN]', '[Infinity]',
  ];
  for (const s of bad) assert.throws(() => parse(s), malformed, JSON.stringify(s));
  assert.throws(() => parse('['.repeat(100_000)), malformed, 'deep nesting is refused, not a stack overflow');
});

test('readUint applies Go integer rules', () => {
  const n = (raw: string) => new JsonNumber(raw);
  assert.equal(readUint(undefined, 32, 'uid'), 0n);
  assert.equal(readUint(null, 32, 'uid'), 0n);
  assert.equal(readUint(n('4294967295'), 32, 'uid'), 4294967295n);
  for (const raw of ['4294967296', '-1', '1.0', '1e3', '-0']) assert.throws(() => readUint(n(raw), 32, 'uid'), malformed, raw);
  assert.throws(() => readUint(n('18446744073709551616'), 64, 'size'), malformed);
  assert.throws(() => readUint(n('9'.repeat(5000)), 64, 'size'), malformed);
  assert.throws(() => readUint('1', 64, 'size'), malformed, 'a string is not a number');
  assert.equal(readInt64(n('-9223372036854775808'), 'x'), -9223372036854775808n);
  assert.throws(() => readInt64(n('9223372036854775808'), 'x'), malformed);
});

test('readString, readStringArray and readBase64 follow Go zero values and types', () => {
  assert.equal(readString(null, 's'), '');
  assert.throws(() => readString(new JsonNumber('1'), 's'), malformed);
  assert.deepEqual(readStringArray(parse('["a",null]'), 'a'), ['a', '']);
  assert.equal(readStringArray(null, 'a'), null);
  assert.deepEqual(readBase64('+/8=', 'v'), Buffer.from([0xfb, 0xff]));
  assert.deepEqual(readBase64('YW\r\nJj', 'v'), Buffer.from('abc'), 'CR and LF are skipped');
  for (const s of ['+/8', '-_8=', 'YQ', 'Y===', 'a b=']) assert.throws(() => readBase64(s, 'v'), malformed, s);
});
