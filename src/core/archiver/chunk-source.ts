/**
 * Splits a byte stream into content-defined chunks with restic's chunker and hands each chunk
 * (in its own exactly-sized buffer, so it can be transferred to a worker) to a callback with
 * its SHA-256 id. Used for --stdin (files are chunked in worker threads: file-chunker.ts).
 */
import { createHash } from 'node:crypto';
import { Chunker, MAX_SIZE } from '../chunker/index.ts';
import type { Id } from '../ids.ts';

export type ChunkSink = (id: Id, chunk: Uint8Array) => Promise<void>;

/** Feeds bytes into the chunker; call end() after the last piece. */
export class ChunkAssembler {
  private readonly chunker: Chunker;
  private pieces: Uint8Array[] = [];
  private pending = 0;
  bytes = 0;

  constructor(
    pol: bigint,
    private readonly sink: ChunkSink,
  ) {
    this.chunker = new Chunker(pol);
    this.chunker.reset();
  }

  async push(buf: Uint8Array): Promise<void> {
    let start = 0;
    this.bytes += buf.length;
    while (start < buf.length) {
      const cut = this.chunker.scan(buf, start, buf.length);
      if (cut < 0) {
        this.pieces.push(buf.subarray(start));
        this.pending += buf.length - start;
        return;
      }
      this.pieces.push(buf.subarray(start, cut));
      this.pending += cut - start;
      await this.emit();
      start = cut;
    }
  }

  private async emit(): Promise<void> {
    if (this.pending === 0) return;
    // An exactly sized buffer of its own (transferable to a worker), not zero-filled first.
    const chunk = Buffer.allocUnsafeSlow(this.pending);
    let o = 0;
    for (const p of this.pieces) {
      chunk.set(p, o);
      o += p.length;
    }
    this.pieces = [];
    this.pending = 0;
    const id = createHash('sha256').update(chunk).digest('hex') as Id;
    await this.sink(id, chunk);
  }

  async end(): Promise<void> {
    await this.emit();
    this.chunker.reset();
  }
}

export async function chunkStream(pol: bigint, stream: AsyncIterable<Uint8Array>, sink: ChunkSink, signal?: AbortSignal): Promise<number> {
  const asm = new ChunkAssembler(pol, sink);
  for await (const piece of stream) {
    signal?.throwIfAborted();
    await asm.push(piece);
  }
  await asm.end();
  return asm.bytes;
}

export { MAX_SIZE };
