import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initZstd, zstdCompress } from '../compress/zstd.ts';
import { randomKey, seal, type MasterKey } from '../crypto/crypto.ts';
import { hashId } from '../ids.ts';
import { PackWriter, withOpenBlob, type PackedBlob } from '../format/pack.ts';
import { packProblems, PackVerifier } from './pack-verifier.ts';
import { xorshift32 as prng } from '../../../test/support/prng.ts';

interface Pack {
  file: Buffer;
  id: string;
  blobs: PackedBlob[];
}

/** Blob sizes around the verifier's 2 MiB window: small, one spanning a window edge, one wider than it. */
function buildPack(key: MasterKey, sizes: readonly number[]): Pack {
  const rnd = prng(7);
  const w = new PackWriter(key);
  sizes.forEach((n, i) => {
    const plain = Buffer.alloc(n);
    for (let j = 0; j < n; j++) plain[j] = i % 2 ? 0x61 + (rnd() % 3) : rnd() & 0xff;
    if (i % 2) w.addSealed('data', hashId(plain), seal(key, zstdCompress(plain)), n);
    else w.addSealed('data', hashId(plain), seal(key, plain), undefined);
  });
  const fin = w.finish();
  return { file: Buffer.concat(fin.bytes), id: fin.id, blobs: fin.blobs };
}

describe('PackVerifier (streaming check of a local pack)', () => {
  let key: MasterKey;
  let dir: string;
  let pack: Pack;
  const opened: string[] = [];
  const open = (sealed: Uint8Array, b: PackedBlob): void => {
    withOpenBlob(key, sealed, b, { inPlace: true }, () => opened.push(b.id));
  };

  before(async () => {
    await initZstd();
    key = randomKey();
    dir = mkdtempSync(join(tmpdir(), 'lb-pv-'));
    pack = buildPack(key, [1000, 1_500_000, 700_000, 3_000_000, 5, 2_200_000, 64]);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** The streaming verdict for `file`, beside the whole-buffer verdict for the same bytes. */
  async function both(file: Buffer, indexed: readonly PackedBlob[], id = pack.id): Promise<{ streamed: string[]; whole: string[] }> {
    const path = join(dir, 'pack');
    writeFileSync(path, file);
    const streamed = await new PackVerifier(key, open).run({ kind: 'checkPack', path, id, indexed });
    const whole = await packProblems(key, Buffer.from(file), id, indexed, async (s, b) => open(Buffer.from(s), b));
    return { streamed, whole };
  }

  test('an intact pack has no problems, and every blob is opened once', async () => {
    opened.length = 0;
    const path = join(dir, 'pack');
    writeFileSync(path, pack.file);
    const problems = await new PackVerifier(key, open).run({ kind: 'checkPack', path, id: pack.id, indexed: pack.blobs });
    assert.deepEqual(problems, []);
    assert.deepEqual([...opened].sort(), pack.blobs.map((b) => b.id).sort());
  });

  test('a flipped byte inside each blob in turn is found in that blob and in the pack hash, as on the main thread', async () => {
    for (const b of pack.blobs) {
      const file = Buffer.from(pack.file);
      file[b.offset + Math.floor(b.length / 2)]! ^= 0x10;
      const { streamed, whole } = await both(file, pack.blobs);
      assert.deepEqual(streamed, whole);
      assert.equal(streamed[0], 'content does not match its name (the file is damaged)');
      assert.equal(streamed.length, 2, streamed.join('\n'));
      assert.match(streamed[1]!, new RegExp(`^blob ${b.id.slice(0, 8)} is damaged`));
    }
  });

  test('a damaged header, a truncated file and index entries that disagree give the main thread findings', async () => {
    const last = pack.file.length - 10;
    const badHeader = Buffer.from(pack.file);
    badHeader[last]! ^= 1;
    const cases: [string, Buffer, PackedBlob[]][] = [
      ['header', badHeader, pack.blobs],
      ['truncated', pack.file.subarray(0, pack.blobs[3]!.offset + 100), pack.blobs],
      ['moved entry', pack.file, pack.blobs.map((b, i) => (i === 2 ? { ...b, offset: b.offset + 1 } : b))],
      ['beyond end', pack.file, [...pack.blobs, { type: 'data', id: pack.blobs[0]!.id, offset: pack.file.length - 40, length: 100 }]],
      ['wrong name', pack.file, pack.blobs],
    ];
    for (const [what, file, indexed] of cases) {
      const { streamed, whole } = await both(file, indexed, what === 'wrong name' ? '0'.repeat(64) : pack.id);
      assert.deepEqual(streamed, whole, what);
      assert.ok(streamed.length > 0, what);
    }
  });

  test('a pack that cannot be opened is reported, not thrown', async () => {
    const problems = await new PackVerifier(key, open).run({ kind: 'checkPack', path: join(dir, 'missing'), id: pack.id, indexed: pack.blobs });
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /^cannot be read: ENOENT/);
  });
});
