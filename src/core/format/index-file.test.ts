import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { LifeboatError } from '../errors.ts';
import type { BlobId, Id, PackId } from '../ids.ts';
import { decodeIndex, encodeIndex } from './index-file.ts';
import type { PackedBlob } from './pack.ts';
import { xorshift32 as prng } from '../../../test/support/prng.ts';

const hex = (c: string) => c.repeat(64) as Id;
const P1 = hex('1') as PackId;
const P2 = hex('2') as PackId;
const B = (c: string) => hex(c) as BlobId;

const packs = [
  {
    id: P1,
    blobs: [
      { type: 'data', id: B('a'), offset: 0, length: 46, uncompressedLength: 5 },
      { type: 'tree', id: B('b'), offset: 46, length: 262 },
    ] satisfies PackedBlob[],
  },
  { id: P2, blobs: [{ type: 'data', id: B('c'), offset: 0, length: 4294967295 }] satisfies PackedBlob[] },
];

function assertMalformed(fn: () => unknown): void {
  assert.throws(fn, (e: unknown) => e instanceof LifeboatError && e.code === 'MALFORMED');
}

describe('index file', () => {
  test('encodes restic field names and order, with a trailing newline and no empty supersedes', () => {
    const want =
      `{"packs":[{"id":"${P1}","blobs":[{"id":"${B('a')}","type":"data","offset":0,"length":46,"uncompressed_length":5},` +
      `{"id":"${B('b')}","type":"tree","offset":46,"length":262}]},{"id":"${P2}","blobs":[{"id":"${B('c')}","type":"data","offset":0,"length":4294967295}]}]}\n`;
    assert.equal(encodeIndex({ packs }).toString(), want);
    assert.equal(encodeIndex({ packs, supersedes: [] }).toString(), want);
    assert.equal(encodeIndex({ packs: [] }).toString(), '{"packs":[]}\n');
    assert.equal(encodeIndex({ packs: [], supersedes: [hex('e'), hex('f')] }).toString(), `{"supersedes":["${hex('e')}","${hex('f')}"],"packs":[]}\n`);
  });

  test('round-trips and agrees with JSON.stringify of the same structure', () => {
    const buf = encodeIndex({ packs, supersedes: [hex('9')] });
    const viaStringify = JSON.stringify({
      supersedes: [hex('9')],
      packs: packs.map((p) => ({ id: p.id, blobs: p.blobs.map((b) => ({ id: b.id, type: b.type, offset: b.offset, length: b.length, uncompressed_length: 'uncompressedLength' in b ? b.uncompressedLength : undefined })) })),
    });
    assert.equal(buf.toString(), viaStringify + '\n');
    assert.deepEqual(decodeIndex(buf), { supersedes: [hex('9')], packs, legacy: false });
  });

  test('reads the legacy top-level array format', () => {
    const legacy = Buffer.from(JSON.stringify([{ id: P1, blobs: [{ id: B('a'), type: 'data', offset: 0, length: 40 }] }]));
    assert.deepEqual(decodeIndex(legacy), { supersedes: [], packs: [{ id: P1, blobs: [{ type: 'data', id: B('a'), offset: 0, length: 40 }] }], legacy: true });
  });

  test('reads what Go would: nulls as empty, uncompressed_length 0 as absent, uppercase ids folded, unknown fields ignored', () => {
    const buf = Buffer.from(
      JSON.stringify({ supersedes: null, extra: 1, packs: [{ id: P1.toUpperCase(), blobs: [{ id: B('a'), type: 'tree', offset: 3, length: 40, uncompressed_length: 0, x: true }] }, { id: P2, blobs: null }] }),
    );
    assert.deepEqual(decodeIndex(buf), {
      supersedes: [],
      packs: [
        { id: P1, blobs: [{ type: 'tree', id: B('a'), offset: 3, length: 40 }] },
        { id: P2, blobs: [] },
      ],
      legacy: false,
    });
    assert.deepEqual(decodeIndex(Buffer.from('{}')).packs, []);
  });

  test('refuses invalid ids, types and numbers', () => {
    const blob = { id: B('a'), type: 'data', offset: 0, length: 40 };
    const withBlob = (b: object) => Buffer.from(JSON.stringify({ packs: [{ id: P1, blobs: [b] }] }));
    for (const bad of [
      { ...blob, id: 'a'.repeat(63) },
      { ...blob, id: 'g'.repeat(64) },
      { ...blob, id: 7 },
      { ...blob, type: 'Data' },
      { ...blob, type: 2 },
      { ...blob, offset: -1 },
      { ...blob, offset: 1.5 },
      { ...blob, offset: 2 ** 32 },
      { ...blob, offset: '0' },
      { ...blob, length: 1e300 },
      { ...blob, length: undefined },
      { ...blob, uncompressed_length: -5 },
      { ...blob, uncompressed_length: 2 ** 32 },
    ]) {
      assertMalformed(() => decodeIndex(withBlob(bad)));
    }
    for (const text of ['', 'null', '7', '"x"', '{"packs":{}}', '{"packs":[null]}', '{"packs":[{"blobs":[]}]}', `{"packs":[{"id":"${P1}","blobs":{}}]}`, '{"supersedes":["x"],"packs":[]}', '{"packs":[]', '\xff']) {
      assertMalformed(() => decodeIndex(Buffer.from(text)));
    }
    assertMalformed(() => encodeIndex({ packs: [{ id: 'x' as PackId, blobs: [] }] }));
    assertMalformed(() => encodeIndex({ packs: [{ id: P1, blobs: [{ type: 'data', id: B('a'), offset: -1, length: 1 }] }] }));
  });

  test('fuzz: mangled index JSON only ever raises LifeboatError', () => {
    const rnd = prng(11);
    const base = encodeIndex({ packs, supersedes: [hex('9')] }).toString();
    const alphabet = '{}[]",:0123456789-.eE abcdefnulltrue\\';
    let accepted = 0;
    for (let i = 0; i < 3000; i++) {
      const chars = [...base];
      for (let k = 0; k <= rnd() % 4; k++) {
        const pos = rnd() % chars.length;
        const op = rnd() % 3;
        if (op === 0) chars[pos] = alphabet[rnd() % alphabet.length]!;
        else if (op === 1) chars.splice(pos, 1);
        else chars.splice(pos, 0, alphabet[rnd() % alphabet.length]!);
      }
      try {
        const idx = decodeIndex(Buffer.from(chars.join('')));
        accepted++;
        for (const p of idx.packs) for (const b of p.blobs) assert.ok(Number.isInteger(b.offset) && b.offset >= 0 && b.length <= 0xffffffff);
      } catch (e) {
        assert.ok(e instanceof LifeboatError, `unexpected ${String(e)}`);
      }
    }
    assert.ok(accepted > 0);
  });
});
