/** SHA-256 of a file on disk, streamed (drills compare live files and mirror copies by content). */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';

export async function sha256File(file: string): Promise<{ sha: string; size: number }> {
  const h = createHash('sha256');
  let size = 0;
  const fh = await fsp.open(file, 'r');
  try {
    for await (const chunk of fh.createReadStream()) {
      h.update(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
  } finally {
    await fh.close().catch(() => {});
  }
  return { sha: h.digest('hex'), size };
}
