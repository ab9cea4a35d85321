import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isDumpName, pickDumpFiles, MAX_FILES } from './dump-files-drill.ts';

const dump = (name: string, mib = 1): { path: string; node: { size: bigint } } => ({ path: `/srv/db-backups/${name}`, node: { size: BigInt(mib * 1024 * 1024) } });

describe('pickDumpFiles', () => {
  const seven = ['a.sql', 'b.dump', 'c.sql', 'd.pgdump', 'e.sql', 'f.backup', 'g.sql'].map((n) => dump(n));

  it(`takes at most ${MAX_FILES} dumps per drill, starting at the drill slice's share of the list and wrapping`, () => {
    assert.deepEqual(pickDumpFiles(seven, { position: 0, full: false }).map((f) => f.path.slice(16)), ['a.sql', 'b.dump', 'c.sql']);
    assert.deepEqual(pickDumpFiles(seven, { position: 5 / 7, full: false }).map((f) => f.path.slice(16)), ['f.backup', 'g.sql', 'a.sql']);
  });

  it('spreads over every dump in a round of drills whose slices start at 0, 1/7, ... 6/7', () => {
    const seen = new Set<string>();
    for (let k = 0; k < 7; k++) for (const f of pickDumpFiles(seven, { position: k / 7, full: false })) seen.add(f.path);
    assert.equal(seen.size, seven.length);
  });

  it('stops at the byte bound but always loads the first; --full takes all', () => {
    const big = [dump('a.sql', 400), dump('b.sql', 400), dump('c.sql', 10)];
    assert.deepEqual(pickDumpFiles(big, { position: 0, full: false, maxBytes: 300 * 1024 * 1024 }).map((f) => f.path.slice(16)), ['a.sql']);
    assert.equal(pickDumpFiles(seven, { position: 0.5, full: true }).length, 7);
  });

  it('knows dumps by name; what a name suggests is then told by content (dump-format.ts)', () => {
    assert.deepEqual(['x.sql', 'x.SQL', 'x.dump', 'x.pgdump', 'x.backup', 'x.sql.gz', 'x.txt', 'sql'].map(isDumpName), [true, true, true, true, true, false, false, false]);
  });
});
