import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ageEncrypt, ageEncryptArmored, ageKeygen } from '../../../test/support/sops-fixture.ts';
import { ageDrill, type AgeDrillFile, type AgeDrillInput } from './age-drill.ts';

// A snapshot in memory: the drill restores through the injected `restore`, so only age is real.
interface MemFile extends AgeDrillFile {
  readonly content: Buffer;
}

describe('ageDrill', () => {
  let dir: string;
  let identity: string;
  let recipient: string;
  let stranger: string;

  const file = (p: string, content: Buffer | string): MemFile => {
    const b = Buffer.from(content);
    return { path: p, node: { size: BigInt(b.length) }, content: b };
  };
  const drill = (files: MemFile[], o: Partial<AgeDrillInput<MemFile>> = {}) => {
    const restored: string[] = [];
    const result = ageDrill<MemFile>({
      identity,
      files: [...files].sort((a, b) => (a.path < b.path ? -1 : 1)),
      startAt: undefined,
      full: false,
      rotation: 7,
      scratch: dir,
      skip: new Set(),
      restore: async (f, dest) => {
        restored.push(f.path);
        await fsp.writeFile(dest, f.content, { mode: 0o600 });
      },
      ...o,
    });
    return result.then((r) => ({ ...r, restored }));
  };

  before(async () => {
    dir = await fsp.mkdtemp(path.join(tmpdir(), 'lifeboat-age-drill-'));
    identity = path.join(dir, 'id.txt');
    recipient = ageKeygen(identity);
    stranger = ageKeygen(path.join(dir, 'other.txt'));
  });

  after(async () => {
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('decrypts age files found by name or by header, binary or armored, and leaves other files alone', async () => {
    const r = await drill([
      file('/s/a.age', ageEncrypt(recipient, Buffer.from('a'))),
      file('/s/b.txt', ageEncryptArmored(recipient, Buffer.from('b'))),
      file('/s/c', ageEncrypt(recipient, Buffer.from('c'))),
      file('/s/notes.md', '# notes\n'),
    ]);
    assert.deepEqual({ ok: r.ok, summary: r.summary, findings: r.findings }, { ok: true, summary: 'age: 3 files decrypted', findings: [] });
  });

  it('names a file the identity does not open, and one named .age that is no age file', async () => {
    const r = await drill([file('/s/mine.age', ageEncrypt(recipient, Buffer.from('m'))), file('/s/theirs.age', ageEncrypt(stranger, Buffer.from('t'))), file('/s/junk.age', 'not age\n')]);
    assert.equal(r.ok, false);
    assert.equal(r.summary, 'age: 1 of 3 files decrypted');
    assert.deepEqual(
      r.findings.map((f) => f.path),
      ['/s/junk.age', '/s/theirs.age'],
    );
    assert.match(r.findings[1]!.problem, /^cannot be decrypted with the configured age identity: no identity matched any of the recipients$/);
    assert.match(r.findings[0]!.problem, /^cannot be decrypted with the configured age identity: .*header/);
  });

  it('says when there is nothing to decrypt', async () => {
    const r = await drill([file('/s/a.txt', 'a'), file('/s/b.yaml', 'b: 1\n')]);
    assert.deepEqual([r.ok, r.summary], [true, 'age: no age or SOPS files found']);
  });

  it('fails on an identity that cannot be read, naming it', async () => {
    const r = await drill([file('/s/a.age', ageEncrypt(recipient, Buffer.from('a')))], { identity: path.join(dir, 'missing.txt') });
    assert.equal(r.ok, false);
    assert.deepEqual(r.findings, [{ path: path.join(dir, 'missing.txt'), problem: 'the age identity cannot be read: no such file' }]);
    assert.deepEqual(r.restored, []);
  });

  it('fails saying to install age when the program is not there', async () => {
    const r = await drill([file('/s/a.age', ageEncrypt(recipient, Buffer.from('a')))], { ageCommand: path.join(dir, 'no-such-age') });
    assert.equal(r.ok, false);
    assert.equal(r.summary, 'age: not tested, the age program is missing (install it: apt-get install age)');
    assert.deepEqual(r.findings.map((f) => f.path), ['/s/a.age']);
  });

  it('reports a file that cannot be restored, and skips one already reported', async () => {
    const files = [file('/s/a.age', ageEncrypt(recipient, Buffer.from('a'))), file('/s/b.age', ageEncrypt(recipient, Buffer.from('b')))];
    const r = await drill(files, {
      skip: new Set(['/s/b.age']),
      restore: async (f) => {
        throw new Error(`blob of ${f.path} is damaged`);
      },
    });
    assert.deepEqual(r.findings, [{ path: '/s/a.age', problem: 'cannot be restored: blob of /s/a.age is damaged' }]);
  });

  it('looks at a rotating window starting at the drill slice, and at everything with full', async () => {
    const files = ['a', 'b', 'c', 'd', 'e'].map((n) => file(`/s/${n}.age`, ageEncrypt(recipient, Buffer.from(n))));
    const limits = { minFiles: 2, maxBytes: 1 << 20 };
    const r = await drill(files, { startAt: '/s/d.age', limits });
    assert.deepEqual(r.restored, ['/s/d.age', '/s/e.age']);
    assert.equal(r.summary, 'age: 2 files decrypted; looked at 2 of 5 files, the rest in later drills');
    const wrap = await drill(files, { startAt: '/s/e.age', limits });
    assert.deepEqual(wrap.restored, ['/s/e.age', '/s/a.age']);
    const full = await drill(files, { startAt: '/s/e.age', limits, full: true });
    assert.equal(full.restored.length, 5);
    assert.equal(full.summary, 'age: 5 files decrypted');
  });

  it('stops at the byte budget, but always looks at the first file', async () => {
    const files = ['a', 'b'].map((n) => file(`/s/${n}.age`, ageEncrypt(recipient, Buffer.alloc(1000, n))));
    const r = await drill(files, { limits: { minFiles: 10, maxBytes: 100 } });
    assert.deepEqual(r.restored, ['/s/a.age']);
    assert.match(r.summary, /looked at 1 of 2 files/);
  });
});
