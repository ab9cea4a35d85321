import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { LifeboatError } from '../errors.ts';
import { keyFromJson, seal, type MasterKey } from '../crypto/crypto.ts';
import { Chunker, chunkLengths, MAX_SIZE, MIN_SIZE, SPLIT_MASK, WINDOW_SIZE } from './chunker.ts';
import { formatPolynomial, isIrreducible, polDegree, polMod, randomPolynomial } from './polynomial.ts';

/** restic/chunker's test polynomial. */
const P = 0x3da3358b4dc173n;

/**
 * Deterministic test bytes: xorshift128 seeded through a murmur3-finalised Weyl sequence, written
 * byte by byte so the stream is the same on every platform.
 */
function seededBytes(seed: number, length: number): Uint8Array {
  let s = seed >>> 0;
  const mix = (): number => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  let x = mix();
  let y = mix();
  let z = mix();
  let w = mix();
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    if ((i & 3) === 0) {
      const t = x ^ (x << 11);
      x = y;
      y = z;
      z = w;
      w = (w ^ (w >>> 19) ^ t ^ (t >>> 8)) >>> 0;
    }
    out[i] = (w >>> ((i & 3) * 8)) & 0xff;
  }
  return out;
}

/** A small deterministic integer source for split points. */
function seededInts(seed: number): (below: number) => number {
  const pool = seededBytes(seed, 1 << 16);
  let at = 0;
  return (below) => {
    if (at + 4 > pool.length) at = 0;
    const v = new DataView(pool.buffer, at, 4).getUint32(0, true);
    at += 4;
    return v % below;
  };
}

/** 64 fixed bytes repeated: every window is one of 64 rotations, so unless one of them happens
 * to be a cut point (odds about 64 in 2^20), chunks run to MaxSize. */
function periodicBytes(length: number): Uint8Array {
  const period = seededBytes(64, WINDOW_SIZE);
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = period[i & (WINDOW_SIZE - 1)]!;
  return out;
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The blob ids restic would record as the file's `content`. */
function chunkIds(pol: bigint, data: Uint8Array): string[] {
  let pos = 0;
  return chunkLengths(pol, data).map((len) => sha256(data.subarray(pos, (pos += len))));
}

/**
 * Feeds `data` to a Chunker in pieces of the sizes `pieceSize` returns and collects the chunk
 * lengths. With `copies`, each piece is a fresh array, so nothing outside the piece is
 * reachable: the chunker must carry all state between calls itself.
 */
function lengthsInPieces(
  pol: bigint,
  data: Uint8Array,
  { pieceSize, copies }: { pieceSize: () => number; copies: boolean },
): number[] {
  const chunker = new Chunker(pol);
  const lengths: number[] = [];
  let chunkStart = 0;
  for (let pos = 0; pos < data.length; ) {
    const end = Math.min(data.length, pos + Math.max(1, pieceSize()));
    const [buf, base] = copies ? [data.slice(pos, end), pos] : [data, 0];
    let from = pos;
    while (from < end) {
      const cut = chunker.scan(buf, from - base, end - base);
      if (cut < 0) break;
      lengths.push(cut + base - chunkStart);
      chunkStart = from = cut + base;
    }
    pos = end;
  }
  if (chunkStart < data.length) lengths.push(data.length - chunkStart);
  return lengths;
}

/**
 * restic's algorithm transcribed in BigInt, in restic's own order (slide the old byte out, then
 * shift the new one in and reduce by plain polynomial division), with none of the fast path's
 * tables, split halves or reordering. Returns the cut (or -1) and the fingerprint after any
 * byte of the first chunk.
 */
function modelFirstChunk(pol: bigint, data: Uint8Array): { cut: number; fingerprintAfter: (n: number) => bigint } {
  const out: bigint[] = [];
  for (let b = 0; b < 256; b++) {
    let h = BigInt(b);
    for (let i = 0; i < WINDOW_SIZE - 1; i++) h = polMod(h << 8n, pol);
    out.push(polMod(h, pol));
  }
  const window = new Array<number>(WINDOW_SIZE).fill(0);
  window[0] = 1;
  let wpos = 1;
  let digest = 1n;
  const skip = MIN_SIZE - WINDOW_SIZE;
  const hashed: bigint[] = [];
  const fingerprintAfter = (n: number): bigint => (n <= skip ? 1n : hashed[n - skip - 1]!);
  for (let n = skip + 1; n <= data.length; n++) {
    const b = data[n - 1]!;
    digest ^= out[window[wpos]!]!;
    window[wpos] = b;
    wpos = (wpos + 1) % WINDOW_SIZE;
    digest = polMod((digest << 8n) | BigInt(b), pol);
    hashed.push(digest);
    if (n >= MIN_SIZE && ((digest & BigInt(SPLIT_MASK)) === 0n || n >= MAX_SIZE)) return { cut: n, fingerprintAfter };
  }
  return { cut: -1, fingerprintAfter };
}

/** The fingerprint by its definition: the last 64 bytes as one polynomial, reduced mod P. */
function windowFingerprint(pol: bigint, window: Uint8Array): bigint {
  let v = 0n;
  for (const b of window) v = (v << 8n) | BigInt(b);
  return polMod(v, pol);
}

function irreducibleOfDegree(degree: number, seed: number): bigint {
  const bytes = seededBytes(seed, 8 * 10_000);
  const view = new DataView(bytes.buffer);
  for (let at = 0; at < bytes.length; at += 8) {
    const low = view.getBigUint64(at, true) & ((1n << BigInt(degree)) - 1n);
    const p = low | (1n << BigInt(degree)) | 1n;
    if (isIrreducible(p)) return p;
  }
  throw new Error(`no irreducible polynomial of degree ${degree} found`);
}

describe('Chunker', () => {
  it('cuts 4 x MinSize of zeros into four MinSize chunks (restic chunker_test.go chunks2)', () => {
    const data = new Uint8Array(4 * MIN_SIZE);
    assert.deepEqual(chunkLengths(P, data), [MIN_SIZE, MIN_SIZE, MIN_SIZE, MIN_SIZE]);
    const id = '07854d2fef297a06ba81685e660c332de36d5d18d546927d30daad6d7fda1541';
    assert.deepEqual(chunkIds(P, data), [id, id, id, id]);
  });

  it('cuts 5,000,000 seeded bytes where restic 0.14 does', () => {
    // Recorded from `restic backup` (0.14.0) of this file in a repository whose config was
    // re-sealed with chunker_polynomial 3da3358b4dc173.
    const data = seededBytes(1, 5_000_000);
    assert.deepEqual(chunkLengths(P, data), [1982913, 1363438, 1653649]);
    assert.deepEqual(chunkIds(P, data), [
      '0982b9e1ee08cda51439cba05d8cf0a1896046150ecf7392673b981090e33f4b',
      'ced309a74957373cbc2977cd94b79339f6d6a2934ad04214a3fb17332fb940b2',
      '941c83929fd0b3aacee138eb2ad47c50b5f3749b99824edf4f560b6312870dbe',
    ]);
  });

  it('cuts a period-64 pattern at MaxSize, because no window of it is a cut point', () => {
    const data = periodicBytes(2 * MAX_SIZE + 12345);
    assert.deepEqual(chunkLengths(P, data), [MAX_SIZE, MAX_SIZE, 12345]);
  });

  it('keeps short files whole and gives an empty file no chunks', () => {
    assert.deepEqual(chunkLengths(P, new Uint8Array(0)), []);
    assert.deepEqual(chunkLengths(P, new Uint8Array(1)), [1]);
    for (const n of [MIN_SIZE - 1, MIN_SIZE]) {
      assert.deepEqual(chunkLengths(P, seededBytes(2, n)), [n]);
    }
    assert.deepEqual(chunkLengths(P, new Uint8Array(MIN_SIZE + 1)), [MIN_SIZE, 1]);
  });

  it('finds the same cuts however the input is split across scan() calls', () => {
    const data = seededBytes(3, 14_000_000);
    const whole = chunkLengths(P, data);
    assert.ok(whole.length >= 6, `want several cuts to compare, got ${whole.length}`);
    const next = seededInts(4);
    const mixed = (): number => [1 + next(130), 1 + next(70_000), 1 + next(4_000_000)][next(3)]!;
    assert.deepEqual(lengthsInPieces(P, data, { pieceSize: mixed, copies: false }), whole, 'views into one buffer');
    assert.deepEqual(lengthsInPieces(P, data, { pieceSize: mixed, copies: true }), whole, 'separate buffers');
    // Tiny pieces around the first cut exercise the window carried between calls.
    const head = data.subarray(0, whole[0]! + 300_000);
    const tiny = (): number => 1 + next(WINDOW_SIZE + 2);
    assert.deepEqual(lengthsInPieces(P, head, { pieceSize: tiny, copies: true }), chunkLengths(P, head));
    assert.deepEqual(lengthsInPieces(P, data, { pieceSize: () => MIN_SIZE, copies: true }), whole, 'MinSize pieces');
  });

  it('matches a BigInt model of restic for degrees 8 to 53, cut for cut and fingerprint for fingerprint', () => {
    const degrees = [8, 9, 13, 20, 24, 31, 32, 33, 36, 39, 40, 41, 46, 52, 53];
    const next = seededInts(5);
    let cuts = 0;
    for (const [i, degree] of degrees.entries()) {
      const pol = irreducibleOfDegree(degree, 100 + i);
      assert.equal(polDegree(pol), degree);
      const data = seededBytes(200 + i, MIN_SIZE + 3000);
      const model = modelFirstChunk(pol, data);
      const chunker = new Chunker(pol);
      let pos = 0;
      let cut = -1;
      while (pos < data.length && cut < 0) {
        const end = Math.min(data.length, pos + 1 + next(400));
        cut = chunker.scan(data, pos, end);
        if (cut < 0) {
          assert.equal(chunker.fingerprint, model.fingerprintAfter(end), `degree ${degree} after byte ${end}`);
        }
        pos = end;
      }
      assert.equal(cut, model.cut, `degree ${degree}: cut`);
      if (cut < 0) {
        const last = data.subarray(data.length - WINDOW_SIZE);
        assert.equal(chunker.fingerprint, windowFingerprint(pol, last), `degree ${degree}: by definition`);
      } else {
        cuts++;
      }
    }
    assert.ok(cuts >= 2, 'low degrees should cut within the sample, exercising the cut path');
  });

  it('cuts at the first fingerprint hit at or after MinSize, ignoring hits while the seed byte is in the window', () => {
    // Rewrites the 3 bytes ending at n so the fingerprint after byte n has its low 20 bits zero.
    // For degree >= 24 those bytes enter the fingerprint unreduced, so XORing the low 20 bits
    // of the current fingerprint into them does it.
    const forceHit = (pol: bigint, data: Uint8Array, n: number): void => {
      const window = new Uint8Array(WINDOW_SIZE);
      const hashed = data.subarray(Math.max(MIN_SIZE - WINDOW_SIZE, n - WINDOW_SIZE), n);
      if (hashed.length < WINDOW_SIZE) window[WINDOW_SIZE - 1 - hashed.length] = 1; // the seed
      window.set(hashed, WINDOW_SIZE - hashed.length);
      const low = Number(windowFingerprint(pol, window) & BigInt(SPLIT_MASK));
      data[n - 3]! ^= low >>> 16;
      data[n - 2]! ^= (low >>> 8) & 0xff;
      data[n - 1]! ^= low & 0xff;
    };
    for (const pol of [P, irreducibleOfDegree(36, 7)]) {
      for (const [n, want] of [
        [MIN_SIZE - 1, undefined],
        [MIN_SIZE - 30, undefined],
        [MIN_SIZE, MIN_SIZE],
        [MIN_SIZE + 1, MIN_SIZE + 1],
      ] as const) {
        const data = seededBytes(8, MIN_SIZE + 2000);
        forceHit(pol, data, n);
        const model = modelFirstChunk(pol, data);
        assert.equal(model.fingerprintAfter(n) & BigInt(SPLIT_MASK), 0n, 'the hit was planted');
        const first = chunkLengths(pol, data)[0];
        assert.equal(first, model.cut < 0 ? data.length : model.cut, `degree ${polDegree(pol)}, hit at ${n}`);
        if (want !== undefined) assert.equal(first, want);
        else assert.ok(first !== undefined && first >= MIN_SIZE);
      }
    }
  });

  it('rejects polynomials restic cannot chunk with', () => {
    for (const p of [0n, 1n, 0b111n, (1n << 54n) | 1n]) {
      assert.throws(
        () => new Chunker(p),
        (err: unknown) => err instanceof LifeboatError && err.code === 'BAD_CONFIG',
        formatPolynomial(p),
      );
    }
  });

  it('refuses a scan range outside the buffer', () => {
    const chunker = new Chunker(P);
    const data = new Uint8Array(10);
    assert.throws(() => chunker.scan(data, 5, 4), RangeError);
    assert.throws(() => chunker.scan(data, 0, 11), RangeError);
    assert.throws(() => chunker.scan(data, -1, 3), RangeError);
    assert.equal(chunker.scan(data, 3, 3), -1);
    assert.equal(chunker.chunkLength, 0);
  });

  it('starts over after reset()', () => {
    const data = seededBytes(6, 3_000_000);
    const chunker = new Chunker(P);
    chunker.scan(data, 0, 1_000_000);
    chunker.reset();
    let pos = 0;
    const lengths: number[] = [];
    for (let cut; (cut = chunker.scan(data, pos, data.length)) >= 0; pos = cut) lengths.push(cut - pos);
    lengths.push(data.length - pos);
    assert.deepEqual(lengths, chunkLengths(P, data));
  });
});

// ---------------------------------------------------------------------------------------------
// Oracle: the real restic binary chunks the same files, and we compare blob ids.

const execFileAsync = promisify(execFile);

interface TreeNode {
  readonly name: string;
  readonly type: string;
  readonly subtree?: string;
  readonly content?: readonly string[] | null;
}

class ResticRepo {
  readonly #env: NodeJS.ProcessEnv;
  readonly #repo: string;
  #key: MasterKey | undefined;
  #config: Record<string, unknown> | undefined;

  constructor(root: string) {
    this.#repo = join(root, 'repo');
    this.#env = {
      PATH: process.env['PATH'],
      HOME: root,
      RESTIC_PASSWORD: 'x',
      RESTIC_REPOSITORY: this.#repo,
      RESTIC_CACHE_DIR: join(root, 'cache'),
    };
  }

  async run(...args: string[]): Promise<string> {
    const { stdout } = await execFileAsync('restic', args, { env: this.#env, maxBuffer: 1 << 28 });
    return stdout;
  }

  async init(): Promise<void> {
    await this.run('init');
    this.#key = keyFromJson(JSON.parse(await this.run('cat', 'masterkey')));
    this.#config = JSON.parse(await this.run('cat', 'config')) as Record<string, unknown>;
  }

  async polynomial(): Promise<string> {
    const config = JSON.parse(await this.run('cat', 'config')) as { chunker_polynomial: string };
    return config.chunker_polynomial;
  }

  /** Re-seals the config with another polynomial; restic offers no command for this. */
  async setPolynomial(pol: string): Promise<void> {
    assert.ok(this.#key && this.#config, 'init() first');
    const config = { ...this.#config, chunker_polynomial: pol };
    const file = join(this.#repo, 'config');
    await chmod(file, 0o600);
    await writeFile(file, seal(this.#key, Buffer.from(JSON.stringify(config))));
  }

  /** Backs `dir` up and returns the `content` of each file directly in it, by name. */
  async backupContents(dir: string): Promise<Map<string, readonly string[]>> {
    const lines = (await this.run('backup', '--json', dir)).trim().split('\n');
    const summary = JSON.parse(lines.at(-1)!) as { message_type: string; snapshot_id: string };
    assert.equal(summary.message_type, 'summary');
    const snapshot = JSON.parse(await this.run('cat', 'snapshot', summary.snapshot_id)) as { tree: string };
    let tree = snapshot.tree;
    for (const name of dir.split('/').filter((c) => c !== '')) {
      const node = (await this.#nodes(tree)).find((n) => n.name === name);
      assert.ok(node?.subtree, `no directory ${name} in the snapshot`);
      tree = node.subtree;
    }
    const contents = new Map<string, readonly string[]>();
    for (const node of await this.#nodes(tree)) {
      if (node.type === 'file') contents.set(node.name, node.content ?? []);
    }
    return contents;
  }

  async #nodes(tree: string): Promise<readonly TreeNode[]> {
    return (JSON.parse(await this.run('cat', 'blob', tree)) as { nodes: TreeNode[] }).nodes;
  }
}

describe('Chunker against restic 0.14', () => {
  let root = '';
  let restic: ResticRepo;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'lifeboat-chunker-'));
    restic = new ResticRepo(root);
    await restic.init();
  });

  after(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  async function assertSameChunks(pol: bigint, files: Record<string, Uint8Array>): Promise<void> {
    const dir = await mkdtemp(join(root, 'files-'));
    for (const [name, data] of Object.entries(files)) await writeFile(join(dir, name), data);
    const contents = await restic.backupContents(dir);
    for (const [name, data] of Object.entries(files)) {
      assert.deepEqual(chunkIds(pol, data), contents.get(name), `${name} with polynomial ${formatPolynomial(pol)}`);
    }
  }

  it('backs up files into exactly our chunks, with the polynomial restic chose', async () => {
    const pol = BigInt(`0x${await restic.polynomial()}`);
    await assertSameChunks(pol, {
      'random.bin': seededBytes(20, 20_000_000),
      'periodic.bin': periodicBytes(17_000_000),
      'zeros.bin': new Uint8Array(2_000_000),
      'below-min.bin': seededBytes(21, MIN_SIZE - 1),
      'above-min.bin': seededBytes(22, MIN_SIZE + 1),
      'empty.bin': new Uint8Array(0),
    });
  });

  it('accepts a polynomial from randomPolynomial() and chunks with it as we do', async () => {
    const pol = randomPolynomial();
    await restic.setPolynomial(formatPolynomial(pol));
    assert.equal(await restic.polynomial(), formatPolynomial(pol));
    await assertSameChunks(pol, { 'random.bin': seededBytes(23, 12_000_000) });
  });

  it('refuses a reducible polynomial, so the acceptance above means something', async () => {
    await restic.setPolynomial('38f1e565e288df');
    await assert.rejects(restic.run('cat', 'config'), /invalid chunker polynomial/);
  });
});
