import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LifeboatError } from '../errors.ts';
import { hashId, type Id } from '../ids.ts';
import { parseRfc3339Nano, ZERO_TIME } from './go-time.ts';
import { decodeTree, displayName, encodeTree, treeOrderProblem, unsafeNodeName, type TreeNode } from './tree.ts';
import { mulberry32 as prng } from '../../../test/support/prng.ts';

const malformed = (e: unknown): boolean => e instanceof LifeboatError && e.code === 'MALFORMED';
const ID_A = hashId(Buffer.from('a'));
const ID_B = hashId(Buffer.from('b'));

function node(name: string | Buffer, over: Partial<TreeNode> = {}): TreeNode {
  return {
    name: typeof name === 'string' ? Buffer.from(name) : name,
    type: 'file',
    mode: 0o644,
    mtime: ZERO_TIME,
    atime: ZERO_TIME,
    ctime: ZERO_TIME,
    uid: 0,
    gid: 0,
    inode: 0n,
    deviceId: 0n,
    size: 0n,
    links: 0n,
    linktarget: Buffer.alloc(0),
    extendedAttributes: [],
    device: 0n,
    content: [],
    subtree: null,
    ...over,
  };
}

// The one-node tree quoted in restic-format.md §6.2, with a full subtree id.
const RESTIC_DIR_TREE =
  '{"nodes":[{"name":"src","type":"dir","mode":2147484141,"mtime":"2026-11-27T05:48:32.963348872Z","atime":"2026-11-27T05:48:32.963348872Z","ctime":"2026-11-27T05:48:32.963348872Z","uid":0,"gid":0,"user":"root","group":"root","inode":2148898,"device_id":65024,"content":null,"subtree":"' +
  ID_A +
  '"}]}\n';

test("encodeTree(decodeTree(b)) reproduces restic's dir node byte for byte", () => {
  const nodes = decodeTree(Buffer.from(RESTIC_DIR_TREE));
  assert.equal(nodes.length, 1);
  const n = nodes[0]!;
  assert.equal(n.name.toString(), 'src');
  assert.equal(n.type, 'dir');
  assert.equal(n.mode, 2147484141);
  assert.equal(n.mtime.nsec, 963348872);
  assert.equal(n.inode, 2148898n);
  assert.equal(n.content, null);
  assert.equal(n.subtree, ID_A);
  assert.equal(encodeTree(nodes).toString(), RESTIC_DIR_TREE);
});

test('an empty tree is {"nodes":[]} plus a newline', () => {
  assert.equal(encodeTree([]).toString(), '{"nodes":[]}\n');
  assert.deepEqual(decodeTree(Buffer.from('{"nodes":[]}\n')), []);
  assert.deepEqual(decodeTree(Buffer.from('{"nodes":null}')), [], 'Go reads null as no nodes');
});

test('encodeTree writes names Go-quoted and JSON-escaped as restic does', () => {
  const bytes = encodeTree([node('tab\there'), node(Buffer.from('bad\xffname', 'latin1')), node('a<b>&c'), node('we"ird\\name')]).toString();
  assert.ok(bytes.includes('"name":"tab\\\\there"'));
  assert.ok(bytes.includes('"name":"bad\\\\xffname"'));
  assert.ok(bytes.includes('"name":"a\\u003cb\\u003e\\u0026c"'));
  assert.ok(bytes.includes('"name":"we\\\\\\"ird\\\\\\\\name"'));
  const back = decodeTree(Buffer.from(bytes)).map((n) => n.name.toString('latin1'));
  assert.deepEqual(back.sort(), ['a<b>&c', 'bad\xffname', 'tab\there', 'we"ird\\name'].sort());
});

test('encodeTree applies omitempty: content always, zero numbers and empty strings omitted', () => {
  const file = encodeTree([node('f', { mode: 0, content: [] })]).toString();
  assert.equal(
    file,
    '{"nodes":[{"name":"f","type":"file","mtime":"0001-01-01T00:00:00Z","atime":"0001-01-01T00:00:00Z","ctime":"0001-01-01T00:00:00Z","uid":0,"gid":0,"content":[]}]}\n',
  );
  const full = encodeTree([
    node('l', {
      type: 'symlink',
      mode: 134218239,
      uid: 1000,
      gid: 100,
      user: 'u',
      group: 'g',
      inode: 18446744073709551615n,
      deviceId: 9007199254740993n,
      links: 1n,
      linktarget: Buffer.from('../t<'),
      extendedAttributes: [{ name: 'user.x', value: Buffer.from([0xfb, 0xff]) }],
      device: 5n,
      content: null,
      error: 'e',
    }),
  ]).toString();
  assert.equal(
    full,
    '{"nodes":[{"name":"l","type":"symlink","mode":134218239,"mtime":"0001-01-01T00:00:00Z","atime":"0001-01-01T00:00:00Z","ctime":"0001-01-01T00:00:00Z","uid":1000,"gid":100,"user":"u","group":"g","inode":18446744073709551615,"device_id":9007199254740993,"links":1,"linktarget":"../t\\u003c","extended_attributes":[{"name":"user.x","value":"+/8="}],"device":5,"content":null,"error":"e"}]}\n',
  );
  const back = decodeTree(Buffer.from(full))[0]!;
  assert.equal(back.inode, 18446744073709551615n, 'uint64 kept exactly above 2^53');
  assert.equal(back.deviceId, 9007199254740993n);
  assert.equal(encodeTree([back]).toString(), full);
});

test('encodeTree sorts by raw bytes, not JS string order, and refuses duplicates', () => {
  // U+E000 (EE 80 80) sorts before U+1F600 (F0 9F 98 80) as bytes, after it as UTF-16.
  const names = ['\u{1f600}', '\ue000', 'b', 'B', 'a\u0301', '\u00e1'];
  const order = decodeTree(encodeTree(names.map((n) => node(n)))).map((n) => n.name.toString());
  assert.deepEqual(order, ['B', 'a\u0301', 'b', '\u00e1', '\ue000', '\u{1f600}']);
  assert.throws(() => encodeTree([node('x'), node('x')]), malformed);
});

test('encodeTree refuses unsafe names and out-of-range values', () => {
  for (const bad of ['', '.', '..', 'a/b', 'nul\0']) assert.throws(() => encodeTree([node(bad)]), malformed, JSON.stringify(bad));
  assert.throws(() => encodeTree([node('x', { mode: -1 })]), malformed, 'a signed mode from a JS shift');
  assert.throws(() => encodeTree([node('x', { uid: 2 ** 32 })]), malformed);
  assert.throws(() => encodeTree([node('x', { size: 1n << 64n })]), malformed);
  assert.throws(() => encodeTree([node('x', { mtime: { sec: 300_000_000_000n, nsec: 0, offsetMin: 0 } })]), malformed);
});

test('symlink targets that are not UTF-8 get linktarget_raw, as restic >= 0.16 writes', () => {
  const target = Buffer.from([0x61, 0xff, 0x62]);
  const bytes = encodeTree([node('l', { type: 'symlink', content: null, linktarget: target })]).toString();
  assert.ok(bytes.includes('"linktarget":"a\\ufffdb","linktarget_raw":"Yf9i"'));
  const back = decodeTree(Buffer.from(bytes))[0]!;
  assert.deepEqual(back.linktarget, target);
  assert.equal(encodeTree([back]).toString(), bytes);
});

test('decodeTree accepts newer restic fields and keeps generic_attributes for round trips', () => {
  const src =
    '{"nodes":[{"name":"x","type":"irregular","mtime":"2024-01-02T03:04:05+01:00","atime":"2024-01-02T03:04:05+01:00","ctime":"2024-01-02T03:04:05+01:00","uid":0,"gid":0,"generic_attributes":{"windows.sd":"AQID","windows.creation_time":{"a":1}},"content":null}]}\n';
  const n = decodeTree(Buffer.from(src))[0]!;
  assert.equal(n.type, 'irregular');
  assert.equal(n.genericAttributes?.get('windows.sd'), '"AQID"');
  const out = encodeTree([n]).toString();
  assert.ok(out.includes('"generic_attributes":{"windows.creation_time":{"a":1},"windows.sd":"AQID"}'), 'keys in byte order, as Go writes maps');
  assert.equal(n.mtime.offsetMin, 60);
});

test('decodeTree follows Go for absent and null fields', () => {
  const [n] = decodeTree(Buffer.from('{"nodes":[{"name":"f","type":"file","uid":null,"content":null,"subtree":null}]}'));
  assert.equal(n!.uid, 0);
  assert.equal(n!.content, null);
  assert.equal(n!.subtree, null);
  assert.deepEqual(n!.mtime, ZERO_TIME);
  assert.equal(n!.user, undefined);
});

test('decodeTree refuses hostile or broken trees with MALFORMED errors', () => {
  const bad = [
    '',
    '[]',
    'null',
    '{"nodes":{}}',
    '{"nodes":[null]}',
    '{"nodes":[1]}',
    '{"nodes":[{"type":"file"}]}',
    '{"nodes":[{"name":"x"}]}',
    '{"nodes":[{"name":"x","type":"weird"}]}',
    '{"nodes":[{"name":"x","type":"file","mode":-1}]}',
    '{"nodes":[{"name":"x","type":"file","mode":4294967296}]}',
    '{"nodes":[{"name":"x","type":"file","size":18446744073709551616}]}',
    '{"nodes":[{"name":"x","type":"file","size":1.5}]}',
    '{"nodes":[{"name":"x","type":"file","size":"1"}]}',
    '{"nodes":[{"name":"x","type":"file","mtime":"yesterday"}]}',
    '{"nodes":[{"name":"x","type":"file","mtime":5}]}',
    '{"nodes":[{"name":"x","type":"file","content":["abc"]}]}',
    '{"nodes":[{"name":"x","type":"file","content":[null]}]}',
    '{"nodes":[{"name":"x","type":"dir","subtree":7}]}',
    '{"nodes":[{"name":"x","type":"file","extended_attributes":[{"name":"a","value":"!!"}]}]}',
    '{"nodes":[{"name":"x","type":"file","extended_attributes":[null]}]}',
    '{"nodes":[{"name":"a\\"b","type":"file"}]}',
    '{"nodes":[{"name":"\\\\q","type":"file"}]}',
    '{"nodes":[]} trailing',
  ];
  for (const s of bad) assert.throws(() => decodeTree(Buffer.from(s)), malformed, s);
});

test('decodeTree keeps nodes with unsafe names so the restorer can refuse exactly those', () => {
  const t = decodeTree(Buffer.from('{"nodes":[{"name":"a/b","type":"file","content":[]},{"name":"..","type":"dir"},{"name":"","type":"file"},{"name":"ok","type":"file","content":[]}]}'));
  assert.deepEqual(t.map((n) => unsafeNodeName(n.name) ?? 'safe'), ['name contains "/"', 'name is ".."', 'empty name', 'safe']);
});

test('decodeTree only ever throws MALFORMED on truncated and mutated trees (seeded fuzz)', () => {
  const rand = prng(20260127);
  const base = encodeTree([
    node('file\t1', { size: 12n, content: [ID_A, ID_B], inode: 123n, links: 2n, extendedAttributes: [{ name: 'user.k', value: Buffer.from('v') }] }),
    node('dir', { type: 'dir', mode: 2147484141, content: null, subtree: ID_B, mtime: parseRfc3339Nano('2001-02-03T04:05:06.123456789+05:30') }),
    node('link', { type: 'symlink', content: null, linktarget: Buffer.from([0x2e, 0xff]) }),
    node(Buffer.from([0xff, 0x3c])),
  ]);
  const tokens = ['"', '\\', '{', '}', '[', ']', ',', ':', 'null', '1e999', '-', '18446744073709551616', '"\\u', '\\x', '0', ' '];
  let accepted = 0;
  for (let iter = 0; iter < 4000; iter++) {
    let b: Buffer;
    const mode = iter % 3;
    if (mode === 0) {
      b = base.subarray(0, Math.floor(rand() * base.length));
    } else if (mode === 1) {
      b = Buffer.from(base);
      for (let k = 0; k < 1 + Math.floor(rand() * 4); k++) b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
    } else {
      const at = Math.floor(rand() * base.length);
      const cut = Math.floor(rand() * 8);
      b = Buffer.concat([base.subarray(0, at), Buffer.from(tokens[Math.floor(rand() * tokens.length)]!), base.subarray(at + cut)]);
    }
    try {
      const nodes = decodeTree(b);
      accepted++;
      encodeTree(nodes.filter((n, i) => nodes.findIndex((m) => m.name.equals(n.name)) === i)); // whatever decodes must encode
    } catch (e) {
      assert.ok(malformed(e), `non-MALFORMED error for ${b.toString('latin1')}: ${String(e)}`);
    }
  }
  assert.ok(accepted > 0, 'some mutations stay valid');
});

test('treeOrderProblem reports unsorted and duplicate stored names', () => {
  const [a, b] = [node('a'), node('b')];
  assert.equal(treeOrderProblem([a, b]), undefined);
  assert.equal(treeOrderProblem([b, a])?.kind, 'unsorted');
  assert.equal(treeOrderProblem([a, a])?.kind, 'duplicate');
});

test('unsafeNodeName and displayName', () => {
  assert.equal(unsafeNodeName(Buffer.from('ok')), undefined);
  assert.ok(unsafeNodeName(Buffer.from('..')));
  assert.equal(displayName(Buffer.from('é')), 'é');
  assert.equal(displayName(Buffer.from([0x61, 0xff])), 'a\\xff');
});

test('content ids are written lowercase', () => {
  const bytes = encodeTree([node('f', { content: [ID_A.toUpperCase() as Id] })]).toString();
  assert.ok(bytes.includes(`"content":["${ID_A}"]`));
});
