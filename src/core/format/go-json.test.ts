import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compactJson, goJsonBase64, goJsonBytes, goJsonString } from './go-json.ts';

test('goJsonString escapes < > & as restic writes them', () => {
  assert.equal(goJsonString('a<b>&c'), '"a\\u003cb\\u003e\\u0026c"');
});

test('goJsonString uses \\n \\r \\t and \\u00XX for other controls (go1.19)', () => {
  assert.equal(goJsonString('\n\r\t'), '"\\n\\r\\t"');
  assert.equal(goJsonString('\b\f\x00\x1f'), '"\\u0008\\u000c\\u0000\\u001f"');
  assert.equal(goJsonString('\x7f'), '"\x7f"', 'DEL is copied');
  assert.equal(goJsonString('q"b\\'), '"q\\"b\\\\"');
  assert.equal(goJsonString('/'), '"/"', 'no escaping of the slash');
});

test('goJsonString escapes U+2028/U+2029, keeps other text, replaces lone surrogates', () => {
  assert.equal(goJsonString('\u2028x\u2029'), '"\\u2028x\\u2029"');
  assert.equal(goJsonString('é😀\u00a0'), '"é😀\u00a0"');
  assert.equal(goJsonString('a\ud800b\udc00'), '"a\\ufffdb\\ufffd"');
  assert.equal(goJsonString('\ufffd'), '"\ufffd"', 'a real U+FFFD stays literal');
});

test('the tree name pipeline: Quote then JSON gives the observed bytes', () => {
  assert.equal(goJsonString('tab\\there'), '"tab\\\\there"');
  assert.equal(goJsonString('bad\\xffname'), '"bad\\\\xffname"');
  assert.equal(goJsonString('we\\"ird\\\\name'), '"we\\\\\\"ird\\\\\\\\name"');
});

test('goJsonBytes writes each invalid UTF-8 byte as \\ufffd', () => {
  assert.equal(goJsonBytes(Buffer.from([0x61, 0xff, 0xfe, 0x62])), '"a\\ufffd\\ufffdb"');
  assert.equal(goJsonBytes(Buffer.from('../x<y>\n')), '"../x\\u003cy\\u003e\\n"');
  assert.equal(goJsonBytes(Buffer.from('é\u2028')), '"é\\u2028"');
});

test('goJsonBase64 is padded standard base64, null for nil', () => {
  assert.equal(goJsonBase64(Buffer.from([0xfb, 0xff])), '"+/8="');
  assert.equal(goJsonBase64(Buffer.alloc(0)), '""');
  assert.equal(goJsonBase64(null), 'null');
});

test('compactJson strips whitespace and HTML-escapes inside strings only', () => {
  assert.equal(compactJson(Buffer.from('{ "a" : [ 1 , "x <y> & \\" z" ] }\n')), '{"a":[1,"x \\u003cy\\u003e \\u0026 \\" z"]}');
  assert.equal(compactJson(Buffer.from('"\u2028"')), '"\\u2028"');
  assert.equal(compactJson(Buffer.from('"\\u003c"')), '"\\u003c"', 'existing escapes are kept');
});
