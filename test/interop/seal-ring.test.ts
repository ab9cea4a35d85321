/**
 * File workers seal blobs into a ring shared with the main thread and reuse it for the whole
 * backup (src/core/archiver/seal-ring.ts): a slot is overwritten as soon as the blob in it is
 * written to its pack's temp file. A ring that handed out a slot too early would leave packs
 * whose bytes no longer match their names or blobs that no longer open, which restic's own
 * check finds. Here 100 MiB of files (incompressible and compressible, largest-chunk runs
 * included) go through rings of two largest blobs (about 16 MiB) several times over, with one
 * worker and with two, and restic 0.14 checks every byte and restores the files identically.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { seededBytes, seededText } from './edge-tree.ts';
import { Sandbox, requireTools, summaryOf } from './tools.ts';

const FILES: Record<string, () => Buffer> = {
  'random-50m.bin': () => seededBytes('seal-ring/a', 50 << 20),
  'text-30m.txt': () => Buffer.from(seededText('seal-ring/b', 30 << 20)),
  // Zero runs longer than the chunker's 8 MiB maximum give largest-size blobs between random ones.
  'mixed-20m.bin': () => Buffer.concat([seededBytes('seal-ring/c', 6 << 20), Buffer.alloc(10 << 20), seededBytes('seal-ring/d', 4 << 20)]),
};

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('backups many times larger than the seal rings', () => {
  let sb: Sandbox;
  const digests = new Map<string, string>();

  before(() => {
    requireTools('restic');
    sb = new Sandbox('seal-ring');
    mkdirSync(sb.path('src'));
    for (const [name, make] of Object.entries(FILES)) {
      const data = make();
      digests.set(name, sha(data));
      writeFileSync(sb.path('src', name), data);
    }
  });
  after(() => sb?.dispose());

  for (const workers of [1, 2]) {
    test(`with ${workers} file worker(s), restic check --read-data is clean and restic restores every file identically`, () => {
      const repo = sb.path(`repo-${workers}`);
      sb.lifeboat('repo', 'init', '--repo', repo);
      sb.env.LIFEBOAT_WORKERS = String(workers);
      try {
        const s = summaryOf(sb.lifeboat('repo', 'backup', '--json', '--repo', repo, sb.path('src')).stdout);
        assert.equal(s.errors, 0);
        assert.ok(Number(s.data_added) > 60 << 20, `stored ${s.data_added} bytes`);
      } finally {
        delete sb.env.LIFEBOAT_WORKERS;
      }
      const check = sb.restic('-r', repo, 'check', '--read-data');
      assert.match(check.stdout, /no errors were found/);
      const target = sb.path(`restored-${workers}`);
      sb.restic('-r', repo, 'restore', 'latest', '--target', target);
      for (const [name, digest] of digests) assert.equal(sha(readFileSync(`${target}${sb.path('src', name)}`)), digest, name);
    });
  }
});
