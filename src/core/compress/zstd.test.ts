import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { LifeboatError } from '../errors.ts';
import { initZstd, scanFrames, zstdBound, zstdCompress, zstdCompressTo, zstdDecompress } from './zstd.ts';
import { loadPosix } from '../fs/posix.ts';
import { xorshift32 as prng } from '../../../test/support/prng.ts';

function randomBytes(rnd: () => number, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = rnd() & 0xff;
  return b;
}

function text(rnd: () => number, n: number): Buffer {
  const words = ['pack', 'index', 'blob', 'tree', 'snapshot', 'lifeboat', 'restic', '\n'];
  let s = '';
  while (s.length < n) s += words[rnd() % words.length] + ' ';
  return Buffer.from(s.slice(0, n));
}

/** Rewrites a frame from ZSTD_compress so that it carries no content size (blocks unchanged). */
function stripContentSize(frame: Uint8Array): Buffer {
  const fhd = frame[4]!;
  const single = (fhd & 0x20) !== 0;
  const fcsSize = fhd >> 6 === 0 ? (single ? 1 : 0) : [0, 2, 4, 8][fhd >> 6]!;
  const dictSize = [0, 1, 2, 4][fhd & 3]!;
  const headerEnd = 5 + (single ? 0 : 1) + dictSize + fcsSize;
  // Window descriptor 2^27: large enough for any single-segment frame we produce in tests.
  const newFhd = fhd & 0x07;
  return Buffer.concat([frame.subarray(0, 4), Buffer.from([newFhd, 17 << 3]), frame.subarray(headerEnd)]);
}

/** `yes | head | zstd -c` output: no content size, window descriptor, content checksum. */
const CLI_FRAME = Buffer.from(
  '28b52ffd04584d070012ce2015b025e9e734826098f1b0a2524a99524ac77782ae04835555555555444444444433333333332222222222ffffffbf6ddbb6ddb66ddb92244992dbb66d1b638c31c618635555555555444444444433333333332222222222ffffffbf6ddbb6ddb66ddb92244992dbb66d1b2b1ab9cb81201403808180820021280683a0306c2008c52080c7a821f8f67f03c0a36a3511fc098184f7c54e8da59446d352a5a3b1b4d26859aa7434e8aa247a9f2bce14a789b3c479c409e2fc707238359cb90c070400000002000800100020007096a4922409921c89911409910c49458ead6056d85f4e16b42a7ed5914e',
  'hex',
);
const CLI_TEXT = Buffer.from(Array.from({ length: 200 }, (_, i) => `line ${i + 1} of lifeboat\n`).join(''));

function assertMalformed(fn: () => unknown): void {
  assert.throws(fn, (e: unknown) => e instanceof LifeboatError && e.code === 'MALFORMED');
}

describe('zstd', () => {
  before(async () => {
    await Promise.all([initZstd(), initZstd()]);
    await initZstd();
  });

  test('round-trips empty, tiny, random and compressible inputs', () => {
    const rnd = prng(1);
    for (const input of [Buffer.alloc(0), Buffer.from('x'), randomBytes(rnd, 1000), randomBytes(rnd, 1 << 20), text(rnd, 3 << 20), Buffer.alloc(5 << 20)]) {
      const c = zstdCompress(input);
      assert.deepEqual(Buffer.from(zstdDecompress(c)), input);
      assert.deepEqual(Buffer.from(zstdDecompress(c, input.length)), input);
      assert.equal(scanFrames(c).exact, input.length, 'our frames declare their content size');
    }
  });

  test('zstdBound is libzstd\'s own bound, and zstdCompressTo fills a buffer of that size', () => {
    for (const n of [0, 1, 1000, (128 << 10) - 1, 128 << 10, (128 << 10) + 1, 1 << 20, 8 << 20, (8 << 20) + 7]) {
      assert.equal(zstdBound(n), loadPosix().zstdCompressBound(n), `bound of ${n}`);
    }
    const rnd = prng(5);
    const data = new Uint8Array(300_000).map(() => rnd() & 0xff);
    const out = Buffer.alloc(zstdBound(data.length));
    const n = zstdCompressTo(data, out);
    assert.deepEqual(zstdDecompress(out.subarray(0, n), data.length), data);
    assert.throws(() => zstdCompressTo(data, out.subarray(0, out.length - 1)), RangeError);
  });

  test('compresses text and honours the level', () => {
    const input = text(prng(2), 1 << 20);
    const c1 = zstdCompress(input, 1);
    const c19 = zstdCompress(input, 19);
    assert.ok(c1.length < input.length / 2);
    assert.ok(c19.length <= c1.length);
    assert.deepEqual(Buffer.from(zstdDecompress(c19)), input);
    assert.throws(() => zstdCompress(input, 0), RangeError);
  });

  test('frames have no checksum, like restic writes them', () => {
    const c = zstdCompress(Buffer.from('hello hello hello'));
    assert.equal(c[4]! & 0x04, 0);
  });

  test('decodes a frame without content size written by the zstd CLI', () => {
    assert.equal(scanFrames(CLI_FRAME).exact, undefined);
    assert.deepEqual(Buffer.from(zstdDecompress(CLI_FRAME)), CLI_TEXT);
    assert.deepEqual(Buffer.from(zstdDecompress(CLI_FRAME, CLI_TEXT.length)), CLI_TEXT);
    assertMalformed(() => zstdDecompress(CLI_FRAME, CLI_TEXT.length - 1));
    assertMalformed(() => zstdDecompress(CLI_FRAME, CLI_TEXT.length + 1));
  });

  test('decodes multi-block frames without content size, beyond the 1 MiB guess of the package', () => {
    const rnd = prng(3);
    const input = Buffer.concat([text(rnd, 2 << 20), randomBytes(rnd, 600_000)]);
    const stripped = stripContentSize(zstdCompress(input));
    const scan = scanFrames(stripped);
    assert.equal(scan.exact, undefined);
    assert.ok(scan.bound >= input.length);
    assert.deepEqual(Buffer.from(zstdDecompress(stripped)), input);
    assert.deepEqual(Buffer.from(zstdDecompress(stripped, input.length)), input);
  });

  test('decodes concatenated frames and skippable frames', () => {
    const a = Buffer.from('first frame '.repeat(100));
    const b = text(prng(4), 200_000);
    const skippable = Buffer.from([0x5a, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 9, 9, 9]);
    const all = Buffer.concat([zstdCompress(a), skippable, stripContentSize(zstdCompress(b)), CLI_FRAME, skippable]);
    const want = Buffer.concat([a, b, CLI_TEXT]);
    assert.equal(scanFrames(all).frames, 3);
    assert.deepEqual(Buffer.from(zstdDecompress(all)), want);
    assert.deepEqual(Buffer.from(zstdDecompress(all, want.length)), want);
    const declared = Buffer.concat([zstdCompress(a), zstdCompress(b)]);
    assert.equal(scanFrames(declared).exact, a.length + b.length);
    assert.deepEqual(Buffer.from(zstdDecompress(declared)), Buffer.concat([a, b]));
  });

  test('an expected size that disagrees with the frame is refused', () => {
    const c = zstdCompress(Buffer.from('some data some data'));
    assertMalformed(() => zstdDecompress(c, 3));
    assertMalformed(() => zstdDecompress(c, 100));
    assertMalformed(() => zstdDecompress(c, -1));
    assertMalformed(() => zstdDecompress(c, 1.5));
  });

  test('refuses hostile claimed sizes before allocating', () => {
    // Single-segment frame header with an 8-byte content size of 2^40, then one empty raw last block.
    const huge = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0xe0, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0]);
    assert.equal(scanFrames(huge).exact, 2 ** 40);
    assertMalformed(() => zstdDecompress(huge));
    // Content size 2^62: beyond 2^53.
    const huger = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0xe0, 0, 0, 0, 0, 0, 0, 0, 0x40, 1, 0, 0]);
    assert.equal(scanFrames(huger).exact, Infinity);
    assertMalformed(() => zstdDecompress(huger));
    // No content size, 10,000 tiny "compressed" blocks: bound 10,000 x 128 KiB > limit.
    const blocks: Buffer[] = [Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 17 << 3])];
    const blk = Buffer.from([(2 << 1) | (1 << 3), 0, 0, 0xff]);
    for (let i = 0; i < 10_000; i++) blocks.push(blk);
    blocks.push(Buffer.from([1, 0, 0]));
    const many = Buffer.concat(blocks);
    assert.ok(scanFrames(many).bound > 1e9);
    assertMalformed(() => zstdDecompress(many));
    // A caller cap applies to real data too, and to the expected size.
    const c = zstdCompress(Buffer.alloc(10_000));
    assertMalformed(() => zstdDecompress(c, undefined, { maxSize: 9_999 }));
    assertMalformed(() => zstdDecompress(c, 10_000, { maxSize: 9_999 }));
    assert.equal(zstdDecompress(c, undefined, { maxSize: 10_000 }).length, 10_000);
    assertMalformed(() => zstdDecompress(Buffer.from(CLI_FRAME), undefined, { maxSize: 1000 }));
    // An expected size the frames cannot possibly produce is refused before allocating it.
    assertMalformed(() => zstdDecompress(CLI_FRAME, 400 << 20));
  });

  test('never throws anything but a LifeboatError on garbage, truncation or bit flips', () => {
    const rnd = prng(5);
    const inputs = [zstdCompress(text(rnd, 300_000)), zstdCompress(randomBytes(rnd, 5000)), stripContentSize(zstdCompress(text(rnd, 200_000))), CLI_FRAME];
    let decoded = 0;
    let refused = 0;
    const attempt = (bytes: Uint8Array, expected?: number) => {
      try {
        zstdDecompress(bytes, expected, { maxSize: 64 << 20 });
        decoded++;
      } catch (e) {
        assert.ok(e instanceof LifeboatError, `unexpected ${String(e)}`);
        refused++;
      }
    };
    for (let i = 0; i < 300; i++) attempt(randomBytes(rnd, rnd() % 200));
    for (let i = 0; i < 300; i++) attempt(Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), randomBytes(rnd, rnd() % 300)]));
    for (const input of inputs) {
      for (let i = 0; i < 200; i++) {
        const m = Buffer.from(input);
        const flips = 1 + (rnd() % 4);
        for (let f = 0; f < flips; f++) m[rnd() % m.length]! ^= 1 << (rnd() % 8);
        attempt(m, rnd() % 2 ? undefined : 300_000);
      }
      for (let cut = 0; cut < input.length; cut += Math.max(1, input.length >> 6)) attempt(input.subarray(0, cut));
      attempt(Buffer.concat([input, Buffer.from([0])]));
    }
    assert.ok(refused > 1000);
    assert.ok(decoded >= 0);
    // The module still works after all that.
    const ok = text(rnd, 100_000);
    assert.deepEqual(Buffer.from(zstdDecompress(zstdCompress(ok))), ok);
  });
});
