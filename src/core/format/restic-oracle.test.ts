/**
 * Oracle test: restic 0.14 backs up a directory of awkward names and special files; every tree
 * blob and the snapshot it wrote must survive decode -> encode byte for byte.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from '../crypto/crypto.ts';
import { keyFromJson } from '../crypto/crypto.ts';
import { initZstd, zstdDecompress } from '../compress/zstd.ts';
import { hashId, type Id } from '../ids.ts';
import { compactJson } from './go-json.ts';
import { decodePrintTable, encodePrintTable, GO119_PRINT_TABLE } from './go-print-table.ts';
import { formatRfc3339Nano } from './go-time.ts';
import { decodeSnapshot, encodeSnapshot } from './snapshot.ts';
import { decodeTree, encodeTree, type TreeNode } from './tree.ts';

const RESTIC = '/usr/bin/restic';
const haveRestic = fs.existsSync(RESTIC);
const TZ = 'America/St_Johns'; // -03:30 in winter: exercises non-Z offsets with minutes

let base = '';
let env: NodeJS.ProcessEnv = {};
let snapshotId = '';
let haveXattr = false;

const restic = (...args: string[]): Buffer => execFileSync(RESTIC, ['--no-lock', ...args], { env, maxBuffer: 1 << 30 });

/** Names that stress Quote, JSON escaping and byte ordering. */
const NAMES: (string | Buffer)[] = [
  'with space',
  'caf\u00e9', // NFC
  'cafe\u0301', // NFD
  '\u{1f600} emoji',
  '\ue000 private use',
  'nb\u00a0sp',
  'soft\u00adhyphen',
  'zero\u200bwidth',
  'line\u2028sep',
  'bom\ufeff',
  'c1\u0085ctl',
  'new\nline',
  'tab\there',
  'back\\slash',
  'qu"ote',
  "apos'trophe",
  'a<b>&c',
  'ctl\x01\x1b\x7f',
  Buffer.from([0x62, 0x61, 0x64, 0xff, 0x6e, 0x61, 0x6d, 0x65]), // bad<0xff>name
  Buffer.from([0xed, 0xa0, 0x80, 0x73, 0x75, 0x72]), // a UTF-8-encoded surrogate
  '-leading-dash',
  'x'.repeat(200) + '\u00e9'.repeat(25), // 250 bytes
  '\u4e2d\u6587',
  'combining\u0301\u0302',
  '\u{1fae0} melting', // Unicode 14: escaped by go1.19
  'arabic\u0870ext', // Unicode 14
];

/** Names made of `cps`, as many runes per name as fit comfortably in 255 bytes. */
function namesFromCodePoints(cps: readonly number[]): Buffer[] {
  const out: Buffer[] = [];
  let cur: number[] = [];
  let bytes = 0;
  const flush = (): void => {
    if (cur.length > 0) out.push(Buffer.from(String(out.length).padStart(6, '0') + String.fromCodePoint(...cur)));
    cur = [];
    bytes = 0;
  };
  for (const cp of cps) {
    const w = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (bytes + w > 240) flush();
    cur.push(cp);
    bytes += w;
  }
  flush();
  return out;
}

/** Every rune on either side of every edge of the go1.19 print table, plus U+0080..U+00FF. */
function tableEdgeCodePoints(): number[] {
  const r = decodePrintTable(GO119_PRINT_TABLE);
  const set = new Set<number>();
  for (let cp = 0x80; cp <= 0xff; cp++) set.add(cp);
  for (const edge of r) for (const cp of [edge - 1, edge, edge + 1]) set.add(cp);
  return [...set].filter((cp) => cp >= 0x80 && cp <= 0x10ffff && (cp < 0xd800 || cp > 0xdfff)).sort((a, b) => a - b);
}

function writeNames(dir: string, names: readonly Buffer[]): void {
  fs.mkdirSync(dir);
  for (const n of names) fs.writeFileSync(Buffer.concat([Buffer.from(dir + '/'), n]), '');
}

before(() => {
  assert.ok(haveRestic, `restic is required at ${RESTIC} (apt-get install restic)`);
  base = fs.mkdtempSync(join(tmpdir(), 'lifeboat-oracle-'));
  const src = join(base, 'src');
  fs.mkdirSync(src);
  env = { PATH: process.env.PATH, TZ, RESTIC_PASSWORD: 'oracle', RESTIC_REPOSITORY: join(base, 'repo'), RESTIC_CACHE_DIR: join(base, 'cache') };
  for (const [i, n] of NAMES.entries()) {
    fs.writeFileSync(Buffer.concat([Buffer.from(src + '/'), Buffer.from(n)]), `file ${i}\n`);
  }
  fs.writeFileSync(join(src, 'empty'), '');
  fs.writeFileSync(join(src, 'setuid'), '#!/bin/sh\n');
  fs.chmodSync(join(src, 'setuid'), 0o4755);
  fs.mkdirSync(join(src, 'emptydir'));
  fs.mkdirSync(join(src, 'sticky'));
  fs.chmodSync(join(src, 'sticky'), 0o1777);
  fs.mkdirSync(join(src, 'setgid-dir'));
  fs.chmodSync(join(src, 'setgid-dir'), 0o2750);
  fs.mkdirSync(join(src, 'deep/a/b/c'), { recursive: true });
  fs.writeFileSync(join(src, 'deep/a/b/c/leaf'), 'leaf');
  fs.symlinkSync('tab\there', join(src, 'link'));
  fs.symlinkSync('does/not/exist', join(src, 'dangling'));
  fs.writeFileSync(join(src, 'hard1'), 'same inode');
  fs.linkSync(join(src, 'hard1'), join(src, 'hard2'));
  execFileSync('mkfifo', ['-m', '0644', join(src, 'fifo')]);
  writeNames(join(src, 'unicode-edges'), namesFromCodePoints(tableEdgeCodePoints()));
  fs.writeFileSync(join(src, 'old'), 'from 2001');
  execFileSync('touch', ['-d', '2001-02-03 04:05:06.123456789', join(src, 'old')], { env });
  try {
    execFileSync('setfattr', ['-n', 'user.lifeboat', '-v', '0sAAEC/w==', join(src, 'old')]);
    haveXattr = true;
  } catch {
    /* no user xattrs on this filesystem: the tree simply has none */
  }
  restic('init', '-q');
  restic('backup', '-q', '--host', 'oracle', '--tag', 'a<b>', src);
  const list = JSON.parse(restic('snapshots', '--json').toString()) as { id: string }[];
  snapshotId = list[0]!.id;
});

after(() => {
  if (base) fs.rmSync(base, { recursive: true, force: true });
});

function walk(treeId: Id, visit: (id: Id, raw: Buffer, nodes: TreeNode[]) => void): void {
  const raw = restic('cat', 'blob', treeId);
  assert.equal(hashId(raw), treeId, 'restic cat blob gives the raw tree plaintext');
  const nodes = decodeTree(raw);
  visit(treeId, raw, nodes);
  for (const n of nodes) if (n.type === 'dir' && n.subtree) walk(n.subtree, visit);
}

test('every tree restic 0.14 wrote re-encodes to identical bytes', () => {
  const snap = decodeSnapshot(restic('cat', 'snapshot', snapshotId));
  const mismatches: string[] = [];
  let trees = 0;
  const byName = new Map<string, TreeNode>();
  walk(snap.tree, (id, raw, nodes) => {
    trees++;
    const again = encodeTree(nodes);
    if (!again.equals(raw)) mismatches.push(`tree ${id}:\n  restic:   ${raw.toString()}\n  lifeboat: ${again.toString()}`);
    for (const n of nodes) byName.set(n.name.toString('latin1'), n);
  });
  assert.ok(trees >= 8, `walked ${trees} trees`);
  assert.deepEqual(mismatches, []);

  const srcNames = fs.readdirSync(join(base, 'src'), { encoding: 'buffer' }).map((b) => b.toString('latin1'));
  for (const n of srcNames) assert.ok(byName.has(n), `node for ${JSON.stringify(n)} decoded`);

  const get = (name: string): TreeNode => byName.get(Buffer.from(name).toString('latin1'))!;
  assert.equal(formatRfc3339Nano(get('old').mtime), '2001-02-03T04:05:06.123456789-03:30');
  assert.equal(get('setuid').mode, 8389101);
  assert.equal(get('sticky').mode, 2148532735);
  assert.equal(get('fifo').mode, 33554852);
  assert.equal(get('link').linktarget.toString(), 'tab\there');
  assert.deepEqual(get('empty').content, []);
  assert.equal(get('emptydir').content, null);
  assert.equal(get('hard1').inode, get('hard2').inode);
  assert.equal(get('hard1').links, 2n);
  if (haveXattr) assert.deepEqual(get('old').extendedAttributes, [{ name: 'user.lifeboat', value: Buffer.from([0, 1, 2, 0xff]) }]);
});

test('the snapshot restic 0.14 wrote re-encodes to identical bytes', async () => {
  // `restic cat snapshot` re-indents the JSON, so decrypt the stored file for the real bytes.
  const key = keyFromJson(JSON.parse(restic('cat', 'masterkey').toString()));
  const sealed = fs.readFileSync(join(base, 'repo', 'snapshots', snapshotId));
  assert.equal(hashId(sealed), snapshotId);
  let plain: Uint8Array = open(key, sealed);
  if (plain[0] === 2) {
    await initZstd();
    plain = zstdDecompress(plain.subarray(1));
  }
  const raw = Buffer.from(plain);
  const snap = decodeSnapshot(raw);
  assert.equal(snap.hostname, 'oracle');
  assert.deepEqual(snap.tags, ['a<b>']);
  assert.match(snap.time, /-0[23]:30$/);
  assert.equal(encodeSnapshot(snap).toString(), raw.toString());

  const pretty = restic('cat', 'snapshot', snapshotId);
  assert.equal(encodeSnapshot(decodeSnapshot(pretty)).toString(), compactJson(pretty).trimEnd(), 'the indented form compacts to the same');
});

test(
  'every code point is quoted as restic 0.14 quotes it (LIFEBOAT_FULL_UNICODE_PROBE=1, ~20 s)',
  { skip: !process.env.LIFEBOAT_FULL_UNICODE_PROBE && 'opt-in exhaustive probe of every code point (55 s): set LIFEBOAT_FULL_UNICODE_PROBE=1' },
  () => {
    const all: number[] = [];
    for (let cp = 0x100; cp <= 0x10ffff; cp++) if (cp < 0xd800 || cp > 0xdfff) all.push(cp);
    const dir = join(base, 'all-runes');
    writeNames(dir, namesFromCodePoints(all));
    restic('backup', '-q', dir);
    const list = JSON.parse(restic('snapshots', '--json', '--path', dir).toString()) as { tree: Id }[];
    let raw: Buffer = Buffer.alloc(0);
    walk(list[0]!.tree, (_id, bytes, nodes) => {
      if (nodes.length > 1000) raw = bytes;
    });
    const again = encodeTree(decodeTree(raw));
    if (!again.equals(raw)) {
      // Rebuild the table from what restic wrote: literal runes are printable, escaped ones are not.
      const printable = new Uint8Array(0x110000);
      for (const n of (JSON.parse(raw.toString()) as { nodes: { name: string }[] }).nodes) {
        const text = n.name.slice(6).replace(/\\(u[0-9a-f]{4}|U[0-9a-f]{8})/g, '');
        for (const ch of text) printable[ch.codePointAt(0)!] = 1;
      }
      const ranges: [number, number][] = [];
      for (let cp = 0x100; cp <= 0x10ffff; cp++) {
        if (!printable[cp]) continue;
        const last = ranges[ranges.length - 1];
        if (last && last[1] === cp - 1) last[1] = cp;
        else ranges.push([cp, cp]);
      }
      assert.fail(`go-print-table.ts disagrees with restic; measured table:\n${encodePrintTable(ranges)}`);
    }
  },
);
