import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LifeboatError } from '../errors.ts';
import { hashId, type Id } from '../ids.ts';
import { compactJson } from './go-json.ts';
import { parseRfc3339Nano } from './go-time.ts';
import { decodeSnapshot, encodeSnapshot, snapshotTimeFields, type Snapshot } from './snapshot.ts';

const malformed = (e: unknown): boolean => e instanceof LifeboatError && e.code === 'MALFORMED';
const TREE = hashId(Buffer.from('tree'));
const PARENT = hashId(Buffer.from('parent'));

test('encodeSnapshot writes Go field order and leaves out empty fields, uid/gid 0 included', () => {
  const s: Snapshot = { time: '2026-11-27T12:03:47.153784594+05:30', tree: TREE, paths: ['/tmp/src'], hostname: 'vm', username: 'root', uid: 0, gid: 0 };
  assert.equal(
    encodeSnapshot(s).toString(),
    `{"time":"2026-11-27T12:03:47.153784594+05:30","tree":"${TREE}","paths":["/tmp/src"],"hostname":"vm","username":"root"}`,
  );
});

test('encodeSnapshot writes every 0.14 field in struct order when set', () => {
  const s: Snapshot = {
    time: '2001-02-03T04:05:06Z',
    parent: PARENT,
    tree: TREE,
    paths: ['/a<b>', '/c'],
    hostname: 'h',
    username: 'u',
    uid: 1000,
    gid: 100,
    excludes: ['*.tmp'],
    tags: ['x', 'y&z'],
    original: PARENT,
  };
  assert.equal(
    encodeSnapshot(s).toString(),
    `{"time":"2001-02-03T04:05:06Z","parent":"${PARENT}","tree":"${TREE}","paths":["/a\\u003cb\\u003e","/c"],"hostname":"h","username":"u","uid":1000,"gid":100,"excludes":["*.tmp"],"tags":["x","y\\u0026z"],"original":"${PARENT}"}`,
  );
  const back = decodeSnapshot(encodeSnapshot(s));
  assert.deepEqual({ ...back, timeValue: undefined }, { ...s, timeValue: undefined });
  assert.deepEqual(back.timeValue, parseRfc3339Nano(s.time));
});

test('paths is always written, empty excludes and tags are not', () => {
  const out = encodeSnapshot({ time: '2001-02-03T04:05:06Z', tree: TREE, paths: [], excludes: [], tags: [] }).toString();
  assert.equal(out, `{"time":"2001-02-03T04:05:06Z","tree":"${TREE}","paths":[]}`);
});

test('restic >= 0.17 program_version and summary round-trip in Go order', () => {
  const src =
    `{"time":"2024-05-06T07:08:09.5+02:00","tree":"${TREE}","paths":["/x"],"hostname":"h","username":"u","uid":1,"gid":2,` +
    '"program_version":"restic 0.17.0","summary":{"backup_start":"2024-05-06T07:08:09.5+02:00","backup_end":"2024-05-06T07:08:10.25+02:00",' +
    '"files_new":1,"files_changed":2,"files_unmodified":3,"dirs_new":4,"dirs_changed":5,"dirs_unmodified":6,"data_blobs":-7,"tree_blobs":8,' +
    '"data_added":18446744073709551615,"data_added_packed":10,"total_files_processed":11,"total_bytes_processed":12}}';
  const s = decodeSnapshot(Buffer.from(src));
  assert.equal(s.programVersion, 'restic 0.17.0');
  assert.equal(s.summary?.dataAdded, 18446744073709551615n);
  assert.equal(s.summary?.dataBlobs, -7n);
  assert.equal(encodeSnapshot(s).toString(), src);
});

test('decodeSnapshot keeps the time string verbatim', () => {
  const s = decodeSnapshot(Buffer.from(`{"time":"2001-02-03T04:05:06.100+00:00","tree":"${TREE}","paths":[]}`));
  assert.equal(s.time, '2001-02-03T04:05:06.100+00:00');
  assert.ok(encodeSnapshot(s).toString().startsWith('{"time":"2001-02-03T04:05:06.100+00:00"'));
  assert.equal(s.timeValue?.nsec, 100_000_000);
});

test('decodeSnapshot reads the indented output of restic cat snapshot', () => {
  const pretty = `{\n  "time": "2026-11-27T12:03:47.153784594+05:30",\n  "tree": "${TREE}",\n  "paths": [\n    "/tmp/lbo/src"\n  ],\n  "hostname": "vm",\n  "username": "root"\n}\n`;
  assert.equal(encodeSnapshot(decodeSnapshot(Buffer.from(pretty))).toString(), compactJson(Buffer.from(pretty)).trimEnd());
});

test('decodeSnapshot requires time and a valid tree id and checks types', () => {
  const bad = [
    '{}',
    `{"tree":"${TREE}","paths":[]}`,
    `{"time":null,"tree":"${TREE}"}`,
    '{"time":"2001-02-03T04:05:06Z","paths":[]}',
    '{"time":"2001-02-03T04:05:06Z","tree":null}',
    '{"time":"2001-02-03T04:05:06Z","tree":"abc"}',
    `{"time":"2001-02-03T04:05:06Z","tree":"${TREE}","paths":"/x"}`,
    `{"time":"2001-02-03T04:05:06Z","tree":"${TREE}","uid":-1}`,
    `{"time":"2001-02-03T04:05:06Z","tree":"${TREE}","uid":4294967296}`,
    `{"time":"2001-02-03T04:05:06Z","tree":"${TREE}","parent":"zz"}`,
    `{"time":"2001-02-03T04:05:06Z","tree":"${TREE}","tags":[1]}`,
    `{"time":"2001-02-03T04:05:06Z","tree":"${TREE}","summary":[]}`,
    `{"time":"2001-02-03T24:05:06Z","tree":"${TREE}"}`,
    `[{"time":"2001-02-03T04:05:06Z","tree":"${TREE}"}]`,
  ];
  for (const s of bad) assert.throws(() => decodeSnapshot(Buffer.from(s)), malformed, s);
});

test('encodeSnapshot refuses an unreadable time or bad ids', () => {
  assert.throws(() => encodeSnapshot({ time: 'now', tree: TREE, paths: [] }), malformed);
  assert.throws(() => encodeSnapshot({ time: '2001-02-03T04:05:06Z', tree: 'x' as Id, paths: [] }), malformed);
  assert.throws(() => encodeSnapshot({ time: '2001-02-03T04:05:06Z', tree: TREE, paths: [], uid: -1 }), malformed);
});

test('snapshotTimeFields gives restic-style time text', () => {
  const f = snapshotTimeFields({ sec: 981_173_106n, nsec: 5_000, offsetMin: 60 });
  assert.equal(f.time, '2001-02-03T05:05:06.000005+01:00');
});
