import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, promises as fsp, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { mirrorBytesToWrite } from './source-guards.ts';

const SLACK = 1 << 20;

test('mirrorBytesToWrite counts only files whose size or mtime differ from their copy in the mirror, as rsync\'s quick check', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'lifeboat-mirror-estimate-'));
  try {
    const src = path.join(dir, 'share');
    const copy = path.join(dir, 'mirror', 'current', 'share', 'share');
    await fsp.mkdir(path.join(src, 'docs'), { recursive: true });
    await fsp.mkdir(path.join(copy, 'docs'), { recursive: true });
    const put = async (rel: string, bytes: number, inCopy: 'same' | 'touched' | 'missing'): Promise<void> => {
      await fsp.writeFile(path.join(src, rel), Buffer.alloc(bytes, 1));
      if (inCopy === 'missing') return;
      await fsp.copyFile(path.join(src, rel), path.join(copy, rel));
      // Whole seconds, so both sides hold exactly the same time (rsync -a copies it to the ns).
      const t = new Date('2026-01-31T12:00:00Z');
      await fsp.utimes(path.join(src, rel), t, t);
      const c = inCopy === 'same' ? t : new Date(t.getTime() - 5000);
      await fsp.utimes(path.join(copy, rel), c, c);
    };
    await put('unchanged.bin', 300_000, 'same');
    await put('docs/edited.txt', 1000, 'touched');
    await put('docs/new.txt', 2000, 'missing');
    await put('cache.tmp', 500_000, 'missing');
    const copyOf = (p: string): string => path.join(dir, 'mirror', 'current', 'share', path.basename(p));
    const exclude = { excludes: (p: string) => p.endsWith('.tmp') };
    const n = await mirrorBytesToWrite([src], copyOf, exclude);
    assert.equal(n, 3000 + Math.ceil(3000 * 0.01) + SLACK, 'the edited and the new file, not the unchanged or the excluded one');
    assert.equal(await mirrorBytesToWrite([src], (p) => path.join(dir, 'elsewhere', path.basename(p))), 803_000 + Math.ceil(803_000 * 0.01) + SLACK, 'no mirror yet: everything');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
