/**
 * The Backend contract (backend.ts) as a reusable node:test suite. Every backend (local today,
 * SFTP and S3 later) registers it once from its own test file:
 *
 *   runBackendConformance('LocalBackend', async () => ({ backend, cleanup, root }));
 *
 * `makeBackend` must return a backend on a location where no repository exists yet; each test
 * takes a fresh one, calls create() itself and runs cleanup() afterwards, also on failure.
 *
 * Backends that store into a local directory (local, or SFTP against a test server on this
 * machine) also return `root`, that directory. Its parent must be a private directory holding
 * nothing else. That enables the on-disk half of the contract: restic's layout
 * (restic-format.md §1), read-only files (0400) and private directories (0700), foreign names
 * and temp files hidden from list(), and nothing ever written outside the repository.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { Backend, FileInfo, FileType } from './backend.ts';

export interface BackendFixture {
  readonly backend: Backend;
  readonly cleanup: () => Promise<void>;
  /** The directory the backend stores into, for on-disk checks (see the module header). */
  readonly root?: string;
}

const ID_TYPES: readonly Exclude<FileType, 'config'>[] = ['key', 'data', 'index', 'snapshot', 'lock'];
const DIR_OF: Record<Exclude<FileType, 'config'>, string> = { key: 'keys', data: 'data', index: 'index', snapshot: 'snapshots', lock: 'locks' };

/** Deterministic bytes: SHA-256 in counter mode over a seed string. */
export function seededBytes(seed: string, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let off = 0, i = 0; off < length; i++) {
    const block = createHash('sha256').update(`${seed}/${i}`).digest();
    off += block.copy(out, off);
  }
  return out;
}

function idOf(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

/** A file whose name is the SHA-256 of its bytes, as every file but config has. */
function contentFile(seed: string, length: number): { name: string; bytes: Buffer } {
  const bytes = seededBytes(seed, length);
  return { name: idOf(bytes), bytes };
}

function hasCode(code: string): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.equal((e as { code?: unknown }).code, code, `expected code ${code}, got ${String((e as { code?: unknown }).code)}: ${(e as Error).message}`);
    return true;
  };
}

async function listAll(b: Backend, type: FileType): Promise<FileInfo[]> {
  const out: FileInfo[] = [];
  for await (const f of b.list(type)) out.push(f);
  return out.sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
}

/** Every entry below `dir`, as [relative path, lstat]. */
async function walk(dir: string): Promise<[string, import('node:fs').Stats][]> {
  const out: [string, import('node:fs').Stats][] = [];
  const rec = async (d: string): Promise<void> => {
    for (const n of await fsp.readdir(d)) {
      const p = path.join(d, n);
      const st = await fsp.lstat(p);
      out.push([path.relative(dir, p), st]);
      if (st.isDirectory()) await rec(p);
    }
  };
  await rec(dir);
  return out;
}

function mode(st: import('node:fs').Stats): string {
  return (st.mode & 0o7777).toString(8).padStart(4, '0');
}

/**
 * `storesLocally: false` (an in-memory backend, an object store) leaves out the on-disk half of
 * the contract, which is about a directory such a backend does not have.
 */
export function runBackendConformance(name: string, makeBackend: () => Promise<BackendFixture>, opts: { storesLocally?: boolean } = {}): void {
  /** Runs `body` on a fresh, created backend and always cleans up. */
  const withBackend = async (body: (f: BackendFixture) => Promise<void>, opts: { create?: boolean } = {}): Promise<void> => {
    const f = await makeBackend();
    try {
      if (opts.create !== false) await f.backend.create();
      await body(f);
    } finally {
      await f.backend.close().catch(() => {});
      await f.cleanup();
    }
  };

  /** Like withBackend, for tests that need the on-disk root; fails (never skips) without it. */
  const withRoot = (body: (f: BackendFixture & { root: string }) => Promise<void>, opts: { create?: boolean } = {}): Promise<void> =>
    withBackend(async (f) => {
      assert.ok(f.root, `${name}: this check needs the fixture's root directory`);
      await body(f as BackendFixture & { root: string });
    }, opts);

  describe(`${name} conforms to the Backend contract`, () => {
    test('exists() is false on a new location, stays false after create(), and is true once a config is saved', async () => {
      await withBackend(async ({ backend }) => {
        assert.equal(await backend.exists(), false);
        await backend.create();
        assert.equal(await backend.exists(), false, 'create() alone writes no config');
        await backend.save('config', '', seededBytes('config', 155));
        assert.equal(await backend.exists(), true);
      }, { create: false });
    });

    test('create() refuses with REPO_EXISTS when a config exists, and leaves it untouched', async () => {
      await withBackend(async ({ backend }) => {
        const config = seededBytes('config', 155);
        await backend.save('config', '', config);
        await assert.rejects(backend.create(), hasCode('REPO_EXISTS'));
        assert.deepEqual(await backend.load('config', ''), config);
      });
    });

    test('config: save, load, range load, stat and list round-trip', async () => {
      await withBackend(async ({ backend }) => {
        const config = seededBytes('config-rt', 155);
        await backend.save('config', '', config);
        assert.deepEqual(await backend.load('config', ''), config);
        assert.deepEqual(await backend.load('config', '', { offset: 16, length: 32 }), config.subarray(16, 48));
        assert.equal((await backend.stat('config', '')).size, 155);
        assert.deepEqual((await listAll(backend, 'config')).map((f) => f.size), [155]);
      });
    });

    test('config: saving different bytes over an existing config fails with REPO_EXISTS', async () => {
      await withBackend(async ({ backend }) => {
        const config = seededBytes('config-a', 155);
        await backend.save('config', '', config);
        await assert.rejects(backend.save('config', '', seededBytes('config-b', 155)), hasCode('REPO_EXISTS'));
        assert.deepEqual(await backend.load('config', ''), config);
      });
    });

    for (const type of ID_TYPES) {
      test(`${type}: save, load, range load, stat, list and remove round-trip`, async () => {
        await withBackend(async ({ backend }) => {
          const a = contentFile(`${type}-a`, type === 'data' ? 300_001 : 1_234);
          const b = contentFile(`${type}-b`, 77);
          await backend.save(type, a.name, a.bytes);
          // Several parts are written as their concatenation.
          await backend.save(type, b.name, [b.bytes.subarray(0, 10), b.bytes.subarray(10, 11), b.bytes.subarray(11)]);
          assert.deepEqual(await backend.load(type, a.name), a.bytes);
          assert.deepEqual(await backend.load(type, b.name), b.bytes);
          for (const [offset, length] of [[0, 1], [0, a.bytes.length], [1000, 200], [a.bytes.length - 32, 32], [a.bytes.length, 0]] as const) {
            assert.deepEqual(await backend.load(type, a.name, { offset, length }), a.bytes.subarray(offset, offset + length), `range ${offset}+${length}`);
          }
          assert.deepEqual(await backend.stat(type, a.name), { name: a.name, size: a.bytes.length });
          const expected = [{ name: a.name, size: a.bytes.length }, { name: b.name, size: b.bytes.length }].sort((x, y) => (x.name < y.name ? -1 : 1));
          assert.deepEqual(await listAll(backend, type), expected);
          for (const other of ID_TYPES.filter((t) => t !== type)) assert.deepEqual(await listAll(backend, other), [], `${other} stays empty`);
          await backend.remove(type, a.name);
          assert.deepEqual(await listAll(backend, type), [{ name: b.name, size: b.bytes.length }]);
          await assert.rejects(backend.load(type, a.name), hasCode('NOT_FOUND'));
          await assert.rejects(backend.load(type, a.name, { offset: 0, length: 10 }), hasCode('NOT_FOUND'), 'no cached handle outlives remove()');
          assert.deepEqual(await backend.load(type, b.name), b.bytes, 'remove deletes only the named file');
        });
      });

      test(`${type}: load and stat of a missing file fail with NOT_FOUND`, async () => {
        await withBackend(async ({ backend }) => {
          const missing = contentFile(`${type}-missing`, 10).name;
          await assert.rejects(backend.load(type, missing), hasCode('NOT_FOUND'));
          await assert.rejects(backend.load(type, missing, { offset: 0, length: 4 }), hasCode('NOT_FOUND'));
          await assert.rejects(backend.stat(type, missing), hasCode('NOT_FOUND'));
        });
      });

      test(`${type}: a range read beyond the end of the file fails with INTEGRITY`, async () => {
        await withBackend(async ({ backend }) => {
          const f = contentFile(`${type}-short`, 100);
          await backend.save(type, f.name, f.bytes);
          await assert.rejects(backend.load(type, f.name, { offset: 90, length: 20 }), hasCode('INTEGRITY'));
          await assert.rejects(backend.load(type, f.name, { offset: 200, length: 1 }), hasCode('INTEGRITY'));
        });
      });

      test(`${type}: saving identical bytes under an existing name is a no-op; different bytes fail with REPO_EXISTS`, async () => {
        await withBackend(async ({ backend }) => {
          const f = contentFile(`${type}-dup`, 500);
          await backend.save(type, f.name, f.bytes);
          await backend.save(type, f.name, f.bytes);
          assert.equal((await listAll(backend, type)).length, 1);
          await assert.rejects(backend.save(type, f.name, seededBytes(`${type}-other`, 500)), hasCode('REPO_EXISTS'));
          assert.deepEqual(await backend.load(type, f.name), f.bytes, 'the stored file is unchanged');
        });
      });
    }

    test('config: load and stat before any config is saved fail with NOT_FOUND', async () => {
      await withBackend(async ({ backend }) => {
        await assert.rejects(backend.load('config', ''), hasCode('NOT_FOUND'));
        await assert.rejects(backend.stat('config', ''), hasCode('NOT_FOUND'));
        assert.deepEqual(await listAll(backend, 'config'), []);
      });
    });

    test('names that are not ids are refused for every type but config, and nothing is written', async () => {
      await withBackend(async ({ backend, root }) => {
        const before = root ? (await walk(path.dirname(root))).map(([p]) => p).sort() : [];
        for (const type of ID_TYPES) {
          for (const bad of ['../escape', '../../etc/lifeboat-escape', '/tmp/lifeboat-escape', 'a'.repeat(63), 'A'.repeat(64), `${'a'.repeat(64)}/x`, '']) {
            await assert.rejects(backend.save(type, bad, Buffer.from('x')), `${type} ${JSON.stringify(bad)} is refused`);
          }
        }
        if (root) assert.deepEqual((await walk(path.dirname(root))).map(([p]) => p).sort(), before);
      });
    });

    test('concurrent saves of 60 distinct files and 8 racing saves of one name all succeed', async () => {
      await withBackend(async ({ backend, root }) => {
        const files = Array.from({ length: 60 }, (_, i) => ({ type: ID_TYPES[i % ID_TYPES.length]!, ...contentFile(`conc-${i}`, 1 + ((i * 7919) % 70_000)) }));
        const same = contentFile('conc-same', 65_536);
        await Promise.all([
          ...files.map((f) => backend.save(f.type, f.name, f.bytes)),
          ...Array.from({ length: 8 }, () => backend.save('data', same.name, same.bytes)),
        ]);
        for (const type of ID_TYPES) {
          const want = files.filter((f) => f.type === type).map((f) => ({ name: f.name, size: f.bytes.length }));
          if (type === 'data') want.push({ name: same.name, size: same.bytes.length });
          want.sort((x, y) => (x.name < y.name ? -1 : 1));
          assert.deepEqual(await listAll(backend, type), want, `${type} listing`);
        }
        for (const f of files) assert.deepEqual(await backend.load(f.type, f.name), f.bytes);
        assert.deepEqual(await backend.load('data', same.name), same.bytes);
        if (root) {
          const leftovers = (await walk(root)).filter(([p]) => p.includes('-tmp-'));
          assert.deepEqual(leftovers.map(([p]) => p), [], 'no temp files remain');
        }
      });
    });

    test('data: hundreds of concurrent range reads over more packs than any handle cache holds return the right bytes', async () => {
      await withBackend(async ({ backend }) => {
        const packs = Array.from({ length: 100 }, (_, i) => contentFile(`many-${i}`, 4096 + i));
        await Promise.all(packs.map((p) => backend.save('data', p.name, p.bytes)));
        for (let round = 0; round < 2; round++) {
          const reads = packs.flatMap((p, i) => [0, 1, 2, 3].map((k) => ({ p, offset: (i * 31 + k * 977 + round) % 4000, length: 1 + ((k * 37 + i) % 90) })));
          const got = await Promise.all(reads.map((r) => backend.load('data', r.p.name, { offset: r.offset, length: r.length })));
          reads.forEach((r, i) => assert.deepEqual(got[i], r.p.bytes.subarray(r.offset, r.offset + r.length), `${r.p.name.slice(0, 8)} ${r.offset}+${r.length}`));
        }
      });
    });

    // ---- saveStream(), for backends that offer it ----

    /** Runs `body` with the backend's saveStream; fails, never skips, when it is not offered. */
    const withStream = (body: (f: BackendFixture, open: NonNullable<Backend['saveStream']>) => Promise<void>): Promise<void> =>
      withBackend(async (f) => {
        assert.ok(f.backend.saveStream, `${name}: saveStream() is not offered`);
        await body(f, f.backend.saveStream.bind(f.backend));
      });

    test('saveStream: parts written in several calls become one file only at commit, with the bytes of save()', async () => {
      await withStream(async ({ backend, root }, open) => {
        for (const type of ID_TYPES) {
          const f = contentFile(`stream-${type}`, 300_000 + type.length);
          const s = await open(type);
          for (const [a, b] of [[0, 1], [1, 70_000], [70_000, 70_000], [70_000, 250_001], [250_001, f.bytes.length]] as const) {
            await s.write([f.bytes.subarray(a, b)]);
          }
          assert.deepEqual(await listAll(backend, type), [], `${type}: nothing listed before commit`);
          await s.commit(f.name);
          assert.deepEqual(await listAll(backend, type), [{ name: f.name, size: f.bytes.length }], `${type} listing after commit`);
          assert.deepEqual(await backend.load(type, f.name), f.bytes);
        }
        if (root) {
          assert.deepEqual((await walk(root)).filter(([p]) => p.includes('-tmp-')).map(([p]) => p), [], 'no temp files remain');
          const bad = (await walk(root)).filter(([, st]) => st.isFile() && mode(st) !== '0400').map(([p]) => p);
          assert.deepEqual(bad, [], 'committed files are read-only');
        }
      });
    });

    test('saveStream: abort() and a failed commit leave nothing; an identical existing file makes commit a no-op, a different one REPO_EXISTS', async () => {
      await withStream(async ({ backend, root }, open) => {
        const f = contentFile('stream-abort', 5000);
        const a = await open('data');
        await a.write([f.bytes]);
        await a.abort();
        assert.deepEqual(await listAll(backend, 'data'), []);

        await backend.save('data', f.name, f.bytes);
        const same = await open('data');
        await same.write([f.bytes.subarray(0, 10), f.bytes.subarray(10)]);
        await same.commit(f.name);
        assert.deepEqual(await backend.load('data', f.name), f.bytes);

        const other = await open('data');
        await other.write([seededBytes('not-the-same', 5000)]);
        await assert.rejects(other.commit(f.name), hasCode('REPO_EXISTS'));
        assert.deepEqual(await backend.load('data', f.name), f.bytes, 'the existing file is untouched');

        const bad = await open('index');
        await bad.write([f.bytes]);
        await assert.rejects(bad.commit('not-an-id'), hasCode('USAGE'));
        await bad.abort();
        assert.deepEqual(await listAll(backend, 'index'), []);
        if (root) assert.deepEqual((await walk(root)).filter(([p]) => p.includes('-tmp-')).map(([p]) => p), [], 'no temp files remain');
      });
    });

    test('saveStream: an unfinished stream (a crash before commit) is never listed, beside a committed one', async () => {
      await withStream(async ({ backend }, open) => {
        const done = contentFile('stream-done', 4000);
        const left = await open('data');
        await left.write([seededBytes('left-behind', 4000)]);
        const s = await open('data');
        await s.write([done.bytes]);
        await s.commit(done.name);
        assert.deepEqual(await listAll(backend, 'data'), [{ name: done.name, size: done.bytes.length }]);
        await left.abort();
      });
    });

    test('countTempFiles and removeTempFiles: count, then delete, what uncommitted writes left (a stream never committed, temp files of any type), nothing else', async () => {
      await withStream(async ({ backend, root }, open) => {
        assert.ok(backend.removeTempFiles, `${name}: removeTempFiles() is not offered`);
        const real = new Map<Exclude<FileType, 'config'>, { name: string; bytes: Buffer }>();
        for (const type of ID_TYPES) {
          const f = contentFile(`keep-${type}`, 300);
          await backend.save(type, f.name, f.bytes);
          real.set(type, f);
        }
        await backend.save('config', '', seededBytes('cfg', 155));
        const left = await open('data');
        await left.write([seededBytes('left-1', 7000)]);
        const left2 = await open('index');
        await left2.write([seededBytes('left-2', 500)]);
        let leftBytes = 7500;
        if (root) {
          const f = contentFile('crashed-save', 1234);
          await fsp.writeFile(path.join(root, 'data', f.name.slice(0, 2), `${f.name}-tmp-00112233aabbccdd`), f.bytes);
          await fsp.writeFile(path.join(root, 'snapshots', `${f.name}-tmp-99`), 'x');
          leftBytes += 1235;
        }
        assert.ok(backend.countTempFiles, `${name}: countTempFiles() is not offered`);
        assert.deepEqual(await backend.countTempFiles(), { files: root ? 4 : 2, bytes: leftBytes }, 'counted, not removed');
        assert.deepEqual(await backend.countTempFiles(), { files: root ? 4 : 2, bytes: leftBytes }, 'counting twice finds the same');
        assert.deepEqual(await backend.removeTempFiles(), { files: root ? 4 : 2, bytes: leftBytes });
        assert.deepEqual(await backend.countTempFiles(), { files: 0, bytes: 0 });
        if (root) assert.deepEqual((await walk(root)).filter(([p]) => p.includes('-tmp-')).map(([p]) => p), [], 'no temp files remain');
        for (const [type, f] of real) {
          assert.deepEqual(await listAll(backend, type), [{ name: f.name, size: f.bytes.length }], `${type} kept`);
          assert.deepEqual(await backend.load(type, f.name), f.bytes);
        }
        assert.equal(await backend.exists(), true, 'config kept');
        assert.deepEqual(await backend.removeTempFiles(), { files: 0, bytes: 0 }, 'a second run finds nothing');
        await left.abort();
        await left2.abort();
      });
    });

    // ---- on-disk half of the contract (backends storing into a local directory) ----
    if (opts.storesLocally === false) return;


    test('on disk: restic layout; data files go to data/<first two hex chars>/', async () => {
      await withRoot(async ({ backend, root }) => {
        const top = (await fsp.readdir(root)).sort();
        assert.deepEqual(top, ['data', 'index', 'keys', 'locks', 'snapshots']);
        const sub = (await fsp.readdir(path.join(root, 'data'))).sort();
        assert.equal(sub.length, 256);
        assert.equal(sub[0], '00');
        assert.equal(sub[255], 'ff');
        await backend.save('config', '', seededBytes('cfg', 155));
        await fsp.access(path.join(root, 'config'));
        for (const type of ID_TYPES) {
          const f = contentFile(`layout-${type}`, 64);
          await backend.save(type, f.name, f.bytes);
          const where = type === 'data' ? path.join(root, 'data', f.name.slice(0, 2), f.name) : path.join(root, DIR_OF[type], f.name);
          assert.deepEqual(await fsp.readFile(where), f.bytes, `${type} file at ${path.relative(root, where)}`);
        }
      });
    });

    test('on disk: saved files are read-only (0400) and every directory is private (0700), as restic makes them', async () => {
      await withRoot(async ({ backend, root }) => {
        await backend.create();
        // A data/xx directory that went missing is recreated with the same mode.
        await fsp.rmdir(path.join(root, 'data', 'ab'));
        let pack = contentFile('mode-pack', 2000);
        for (let n = 0; !pack.name.startsWith('ab'); n++) pack = contentFile(`mode-pack-${n}`, 2000);
        await backend.save('data', pack.name, pack.bytes);
        await backend.save('config', '', seededBytes('cfg', 155));
        for (const type of ID_TYPES) {
          const f = contentFile(`mode-${type}`, 100);
          await backend.save(type, f.name, f.bytes);
        }
        assert.equal(mode(await fsp.stat(root)), '0700', 'the repository directory itself');
        const bad = (await walk(root))
          .filter(([, st]) => (st.isDirectory() ? mode(st) !== '0700' : !st.isFile() || mode(st) !== '0400'))
          .map(([rel, st]) => `${rel} ${st.isDirectory() ? 'dir' : 'file'} ${mode(st)}`);
        assert.deepEqual(bad, []);
      }, { create: false });
    });

    test('on disk: list() ignores temp files, foreign names, directories and data files not exactly one level down', async () => {
      await withRoot(async ({ backend, root }) => {
        const real: Record<string, string> = {};
        for (const type of ID_TYPES) {
          const f = contentFile(`list-${type}`, 50);
          await backend.save(type, f.name, f.bytes);
          real[type] = f.name;
          const dir = type === 'data' ? path.join(root, 'data', f.name.slice(0, 2)) : path.join(root, DIR_OF[type]);
          const fake = contentFile(`fake-${type}`, 10).name;
          await fsp.writeFile(path.join(dir, `${fake}-tmp-0123456789abcdef`), 'partial');
          await fsp.writeFile(path.join(dir, 'README'), 'not an id');
          await fsp.writeFile(path.join(dir, fake.toUpperCase()), 'uppercase is not how ids are written');
          await fsp.writeFile(path.join(dir, fake.slice(0, 63)), 'too short');
          await fsp.mkdir(path.join(dir, contentFile(`dir-${type}`, 10).name));
        }
        // A pack directly in data/ and one two levels down are not where restic looks.
        await fsp.writeFile(path.join(root, 'data', contentFile('flat', 10).name), 'flat');
        await fsp.mkdir(path.join(root, 'data', '00', 'deeper'));
        await fsp.writeFile(path.join(root, 'data', '00', 'deeper', contentFile('deep', 10).name), 'deep');
        for (const type of ID_TYPES) {
          assert.deepEqual((await listAll(backend, type)).map((f) => f.name), [real[type]], `${type} lists only its real file`);
        }
      });
    });

    test('on disk: nothing is ever created outside the repository directory', async () => {
      await withRoot(async ({ backend, root }) => {
        const parent = path.dirname(root);
        assert.deepEqual((await fsp.readdir(parent)).filter((n) => n !== path.basename(root)), [], 'fixture: the parent holds nothing but the repository');
        await backend.create();
        await backend.save('config', '', seededBytes('cfg', 155));
        const kept: string[] = [];
        for (let i = 0; i < 20; i++) {
          const type = ID_TYPES[i % ID_TYPES.length]!;
          const f = contentFile(`outside-${i}`, 3000);
          await backend.save(type, f.name, f.bytes);
          if (i % 2 === 0) await backend.remove(type, f.name);
          else kept.push(f.name);
          await backend.load(type, f.name, { offset: 0, length: 1 }).catch(() => {});
          for await (const _ of backend.list(type)) void _;
        }
        await backend.close();
        assert.deepEqual(await fsp.readdir(parent), [path.basename(root)]);
        const files = (await walk(root)).filter(([, st]) => !st.isDirectory()).map(([p]) => p);
        assert.equal(files.length, kept.length + 1, 'only the config and the kept files remain');
      }, { create: false });
    });
  });

}
