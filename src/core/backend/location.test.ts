import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { LifeboatError } from '../errors.ts';
import { parseLocation, redact } from './location.ts';
import { openBackend } from './open-backend.ts';
import { LocalBackend } from './local-backend.ts';
import { MemoryBackend } from './memory-backend.ts';
import { RetryBackend } from './retry-backend.ts';

const code = (c: string) => (e: unknown) => e instanceof LifeboatError && e.code === c;

test('restic location strings parse into their parts', () => {
  const cases: [string, Record<string, unknown>][] = [
    ['/mnt/usb/lifeboat', { scheme: 'local', path: '/mnt/usb/lifeboat' }],
    ['./repo', { scheme: 'local', path: './repo' }],
    ['local:/srv/repo', { scheme: 'local', path: '/srv/repo' }],
    ['sftp:backup@nas.local:/srv/lifeboat', { scheme: 'sftp', user: 'backup', host: 'nas.local', port: undefined, path: '/srv/lifeboat' }],
    ['sftp:nas:repo', { scheme: 'sftp', user: undefined, host: 'nas', port: undefined, path: 'repo' }],
    ['sftp://backup@nas.local:2222//srv/lifeboat', { scheme: 'sftp', user: 'backup', host: 'nas.local', port: 2222, path: '/srv/lifeboat' }],
    ['rest:https://h:8000/lifeboat', { scheme: 'rest', url: 'https://h:8000/lifeboat' }],
    ['s3:s3.amazonaws.com/my-bucket/host/lifeboat', { scheme: 's3', endpoint: 'https://s3.amazonaws.com', bucket: 'my-bucket', prefix: 'host/lifeboat' }],
    ['s3:http://127.0.0.1:9000/bucket', { scheme: 's3', endpoint: 'http://127.0.0.1:9000', bucket: 'bucket', prefix: '' }],
    ['b2:bucket:path', { scheme: 'b2', rest: 'bucket:path' }],
    ['rclone:remote:path', { scheme: 'rclone', rest: 'remote:path' }],
    ['sftp://nas/home-relative', { scheme: 'sftp', host: 'nas', path: 'home-relative' }],
    ['no-scheme:here', { scheme: 'local', path: 'no-scheme:here' }],
  ];
  for (const [s, want] of cases) {
    const got = parseLocation(s) as unknown as Record<string, unknown>;
    for (const [k, v] of Object.entries(want)) assert.equal(got[k], v, `${s}: ${k}`);
  }
});

test('malformed locations are usage errors that name the location and show the right form', () => {
  for (const [s, hint] of [
    ['', /\/mnt\/usb/],
    ['local:', /local:\/mnt/],
    ['sftp:nas', /sftp:backup@/],
    ['sftp://nas:99999//x', /65535/],
    ['rest:ftp://x', /rest:https/],
    ['s3:bucketonly', /s3:s3.amazonaws.com/],
  ] as const) {
    assert.throws(() => parseLocation(s), (e: unknown) => code('USAGE')(e) && (e as LifeboatError).message.includes(JSON.stringify(s)) && hint.test((e as LifeboatError).hint ?? ''), s);
  }
});

test('a password in a location never reaches a message', () => {
  assert.equal(redact('rest:https://user:s3cret@host:8000/repo'), 'rest:https://user:***@host:8000/repo');
  assert.equal(parseLocation('rest:https://user:s3cret@host/').display, 'rest:https://user:***@host/');
  assert.throws(() => openBackend('rest:https://user:s3cret@host/'), (e: unknown) => code('BACKEND')(e) && !(e as Error).message.includes('s3cret'));
});

test('openBackend opens local paths directly and says "not built yet" for remote schemes, with a hint', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'lifeboat-location-'));
  try {
    for (const s of [path.join(dir, 'r'), `local:${path.join(dir, 'r')}`]) {
      const b = openBackend(s);
      assert.ok(b instanceof LocalBackend);
      assert.equal(b.location, path.join(dir, 'r'));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  for (const s of ['sftp:nas:/srv/r', 's3:s3.amazonaws.com/b', 'rest:http://h/', 'b2:b:p']) {
    assert.throws(() => openBackend(s), (e: unknown) => code('BACKEND')(e) && /is not built yet/.test((e as Error).message) && /planned/.test((e as LifeboatError).hint ?? ''), s);
  }
});

test('a registered remote factory is used, wrapped in retries and a connection limit', () => {
  const mem = new MemoryBackend('sftp-test');
  const b = openBackend('sftp:nas:/srv/r', { backends: { sftp: (l) => (assert.equal(l.host, 'nas'), mem) } });
  assert.ok(b instanceof RetryBackend);
  assert.equal(b.location, 'sftp-test');
});
