/**
 * Positional reads that fill a buffer: readSync may return fewer bytes than asked (large reads,
 * signals), so pack readers loop until the buffer is full or the file ends.
 */
import { readSync } from 'node:fs';

/** Reads into all of `into` from byte `pos` of `fd`; returns the bytes read, fewer only at end of file. */
export function readAtSync(fd: number, into: Uint8Array, pos: number): number {
  let got = 0;
  while (got < into.length) {
    const n = readSync(fd, into, got, into.length - got, pos + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}
