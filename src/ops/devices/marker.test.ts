import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { checkDestination, type Destination } from './destination-state.ts';
import { MARKER_FILE, newMarker, readMarker, verifyMarker, writeMarker, type MarkerState } from './marker.ts';
import { systemProbe } from './probe.ts';
import { runCommand } from './run-command.ts';
import { cleanupTestDrives, createTestDrive, makeScratchDir } from './test-drive.ts';

after(cleanupTestDrives);
const probe = systemProbe();
const NOW = new Date('2025-03-01T10:00:00Z');

test('writeMarker then readMarker round-trips, leaving no temporary file', async () => {
  const root = await makeScratchDir();
  const marker = newMarker({ destination: 'media', label: 'BU-2025-MEDIA', uuid: 'u-1', repositoryId: 'a1b2', now: NOW, hostname: 'srv1' });
  assert.deepEqual(marker, {
    destination: 'media',
    label: 'BU-2025-MEDIA',
    uuid: 'u-1',
    repository_id: 'a1b2',
    format: 1,
    enrolled_at: '2025-03-01T10:00:00.000Z',
    hostname: 'srv1',
  });
  assert.equal(await writeMarker(root, marker), join(root, MARKER_FILE));
  assert.deepEqual(await readMarker(root), { state: 'present', path: join(root, MARKER_FILE), marker });
  assert.deepEqual(await readdir(root), [MARKER_FILE]);
  assert.deepEqual(JSON.parse(await readFile(join(root, MARKER_FILE), 'utf8')), marker);
});

test('writeMarker never replaces a marker unless asked', async () => {
  const root = await makeScratchDir();
  await writeMarker(root, newMarker({ destination: 'media', label: 'A', now: NOW }));
  await assert.rejects(writeMarker(root, newMarker({ destination: 'other', label: 'B' })), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'USAGE');
    assert.match(e.message, /already carries a drive marker/);
    return true;
  });
  const kept = await readMarker(root);
  assert.equal(kept.state === 'present' && kept.marker.destination, 'media');
  await writeMarker(root, newMarker({ destination: 'other', label: 'B' }), { replace: true });
  const replaced = await readMarker(root);
  assert.equal(replaced.state === 'present' && replaced.marker.destination, 'other');
  assert.deepEqual(await readdir(root), [MARKER_FILE]);
});

test('writeMarker creates no directories: a missing root is NOT_FOUND', async () => {
  const dir = await makeScratchDir();
  await assert.rejects(writeMarker(join(dir, 'repo'), newMarker({ destination: 'media' })), { code: 'NOT_FOUND' });
  assert.deepEqual(await readdir(dir), []);
});

test('readMarker reports a missing marker, unparsable JSON and a newer format as states', async () => {
  const root = await makeScratchDir();
  assert.deepEqual(await readMarker(root), { state: 'missing', path: join(root, MARKER_FILE) });
  assert.equal((await readMarker(join(root, 'nope'))).state, 'missing');
  await writeFile(join(root, MARKER_FILE), '{"destination": ');
  assert.deepEqual(await readMarker(root), { state: 'invalid', path: join(root, MARKER_FILE), why: 'it is not valid JSON' });
  await writeFile(join(root, MARKER_FILE), JSON.stringify({ ...newMarker({ destination: 'media' }), format: 2 }));
  const newer = await readMarker(root);
  assert.equal(newer.state === 'invalid' && newer.why, 'it has format 2, written by a newer lifeboat');
  await writeFile(join(root, MARKER_FILE), JSON.stringify({ format: 1, destination: 'media', label: 5 }));
  assert.equal((await readMarker(root)).state, 'invalid');
});

test('verifyMarker accepts the matching drive and refuses others by name', () => {
  const present = (over: Record<string, unknown> = {}): MarkerState => ({
    state: 'present',
    path: '/mnt/usb/lifeboat/.lifeboat-drive.json',
    marker: { ...newMarker({ destination: 'media', label: 'BU-2025-MEDIA', uuid: 'AAAA-1', repositoryId: 'r1', now: NOW, hostname: 'h' }), ...over },
  });
  const expected = { destination: 'media', label: 'BU-2025-MEDIA', uuid: 'aaaa-1', repositoryId: 'r1' };
  assert.equal(verifyMarker(present(), expected), undefined);
  assert.equal(verifyMarker(present(), { destination: 'media' }), undefined);
  assert.equal(
    verifyMarker(present({ destination: 'offsite' }), expected),
    "BU-2025-MEDIA is enrolled for destination 'offsite', not 'media': refusing to write to it",
  );
  assert.equal(
    verifyMarker(present({ label: 'BU-2024-OLD' }), expected),
    '/mnt/usb/lifeboat/.lifeboat-drive.json was written for drive BU-2024-OLD, but the drive mounted there is BU-2025-MEDIA: refusing to write to it',
  );
  assert.match(verifyMarker(present({ uuid: 'BBBB-2' }), expected) ?? '', /^BU-2025-MEDIA has UUID aaaa-1, but its marker was written for UUID BBBB-2/);
  assert.equal(
    verifyMarker(present({ repository_id: 'r9' }), expected),
    "BU-2025-MEDIA holds repository r9, not r1 of destination 'media': refusing to write to it",
  );
  assert.match(verifyMarker({ state: 'missing', path: '/x/.lifeboat-drive.json' }, expected) ?? '', /^BU-2025-MEDIA was never enrolled for destination 'media'/);
  assert.match(verifyMarker({ state: 'invalid', path: '/x/m', why: 'it is not valid JSON' }, expected) ?? '', /cannot be trusted: it is not valid JSON/);
});

test('enrolled on a real drive: the drive passes; a same-label clone carrying a copy of the marker is refused', async () => {
  const d = await createTestDrive();
  const mnt = join(d.workDir, 'usb');
  const dest: Destination = { name: 'media', kind: 'usb', label: d.label, mountpoint: mnt, root: join(mnt, 'lifeboat') };
  await d.mount(mnt);
  const s = await checkDestination(dest, probe);
  assert.equal(s.state, 'ready');
  if (s.state !== 'ready') return;
  await mkdir(s.root); // enroll: repository init happens here, on a ready destination only
  await writeMarker(s.root, newMarker({ destination: dest.name, label: s.label, uuid: s.uuid, repositoryId: 'r1' }));
  assert.equal(verifyMarker(await readMarker(s.root), { destination: 'media', label: s.label, uuid: s.uuid, repositoryId: 'r1' }), undefined);
  const copied = await readFile(join(s.root, '.lifeboat-drive.json'));
  await runCommand('umount', ['--', mnt]);

  const clone = await createTestDrive({ label: d.label, uuid: randomUUID() });
  await d.cleanup(); // the original goes away; only the clone with the same label is attached
  await clone.mount(mnt);
  await mkdir(join(mnt, 'lifeboat'));
  await writeFile(join(mnt, 'lifeboat', '.lifeboat-drive.json'), copied);
  const c = await checkDestination(dest, probe);
  assert.equal(c.state, 'ready', 'a label-only destination cannot tell the clone apart...');
  if (c.state !== 'ready') return;
  const why = verifyMarker(await readMarker(c.root), { destination: 'media', label: c.label, uuid: c.uuid, repositoryId: 'r1' });
  assert.equal(why, `${d.label} has UUID ${clone.uuid}, but its marker was written for UUID ${d.uuid}: it is a copy or a different drive, refusing to write to it`);
  await runCommand('umount', ['--', mnt]);
  await clone.cleanup();
});
