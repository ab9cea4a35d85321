import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { chunkLengths, MAX_SIZE } from '../chunker/index.ts';
import { KnownBlobs } from '../repository/known-blobs.ts';
import { FileChunker } from './file-chunker.ts';
import type { FilePart } from '../workers/index.ts';
import { MAX_BLOB, RingReleaser, RingWriter, newRing } from '../workers/index.ts';

const POL = 0x3da3358b4dc173n;

/** Deterministic bytes whose chunks are mostly shorter than MAX_SIZE, plus a long zero run (forced MAX_SIZE cuts). */
function data(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let s = seed;
  for (let i = 0; i < n - (n >> 2); i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    b[i] = s >>> 24;
  }
  return b;
}

function expectedIds(buf: Buffer): string[] {
  let pos = 0;
  return chunkLengths(POL, buf).map((len) => createHash('sha256').update(buf.subarray(pos, (pos += len))).digest('hex'));
}

interface Run {
  readonly parts: FilePart[];
  readonly sealedCalls: number;
}

function run(paths: string[], known: Uint8Array[] = []): Run {
  const parts: FilePart[] = [];
  let sealedCalls = 0;
  const share = newRing(2 * MAX_BLOB + 12345);
  const releaser = new RingReleaser(share);
  const fc = new FileChunker(
    (d, _compress, alloc) => {
      sealedCalls++;
      // Stands in for compress+encrypt: 32 bytes of overhead, written where alloc says.
      const out = alloc(d.length + 32);
      out.set(d, 16);
      return { sealed: out, uncompressedLength: undefined };
    },
    (p) => {
      parts.push(...p);
      // The main thread releases what it received (here at once; a pack write in a backup).
      for (const part of p) for (const c of part.chunks) if (c.end !== undefined) releaser.received(c.end);
      for (const part of p) for (const c of part.chunks) if (c.end !== undefined) releaser.release(c.end);
    },
    new RingWriter(share),
  );
  fc.run({
    kind: 'files',
    paths: paths.map((p) => Buffer.from(p)),
    pol: POL,
    compress: true,
    known: KnownBlobs.build(known.length, (fn) => known.forEach(fn)).buffer,
  });
  assert.equal(releaser.unreleased, 0, 'every sealed blob was handed over');
  return { parts, sealedCalls };
}

test('cuts files exactly where restic\'s chunker does, across read-buffer refills, and reports every file', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'lifeboat-fc-'));
  try {
    const sizes = [0, 1, 4096, MAX_SIZE, MAX_SIZE + 1, 3 * MAX_SIZE + 12345];
    const files = sizes.map((n, i) => {
      const p = path.join(dir, `f${i}`);
      writeFileSync(p, data(n, i + 1));
      return p;
    });
    const missing = path.join(dir, 'missing');
    const { parts } = run([...files, missing]);
    const byFile = new Map<number, { ids: string[]; end?: FilePart['end'] }>();
    for (const p of parts) {
      const f = byFile.get(p.file) ?? { ids: [] };
      f.ids.push(...p.chunks.map((c) => c.id));
      if (p.end) f.end = p.end;
      byFile.set(p.file, f);
    }
    sizes.forEach((n, i) => {
      const f = byFile.get(i)!;
      assert.deepEqual(f.end, { size: n }, `file ${i}`);
      assert.deepEqual(f.ids, expectedIds(data(n, i + 1)), `file ${i} (${n} bytes)`);
    });
    const m = byFile.get(files.length)!;
    assert.ok(m.end && 'error' in m.end && m.end.error.code === 'ENOENT', 'a missing file ends with its error');
    assert.equal(m.ids.length, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('chunks the repository already holds, or that this worker sealed before, are not sealed again', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'lifeboat-fc-'));
  try {
    const a = data(2 * MAX_SIZE, 7);
    writeFileSync(path.join(dir, 'a'), a);
    writeFileSync(path.join(dir, 'b'), a);
    const ids = expectedIds(a);
    assert.ok(ids.length >= 2);
    const known = [Buffer.from(ids[0]!, 'hex')];
    const { parts, sealedCalls } = run([path.join(dir, 'a'), path.join(dir, 'b')], known);
    assert.equal(sealedCalls, new Set(ids).size - 1);
    const sealedIds = parts.flatMap((p) => p.chunks.filter((c) => c.sealed).map((c) => c.id));
    assert.ok(!sealedIds.includes(ids[0]!));
    assert.equal(new Set(sealedIds).size, sealedIds.length);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
