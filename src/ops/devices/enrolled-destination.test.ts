import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Destination, EnrolledIdentity } from './destination-state.ts';
import { checkEnrolledDestination } from './enrolled-destination.ts';
import { newMarker, writeMarker } from './marker.ts';
import { systemProbe } from './probe.ts';
import { runCommand } from './run-command.ts';
import { findAttachedDrives } from './usb.ts';
import { cleanupTestDrives, createTestDrive, makeScratchDir, mountTmpfs, randomLabel, type TestDrive } from './test-drive.ts';

const probe = systemProbe();
const label = randomLabel();
let enrolledDrive: TestDrive; // the drive enroll saw
let impostor: TestDrive; // another drive, formatted with the same label

before(async () => {
  [enrolledDrive, impostor] = await Promise.all([createTestDrive({ label }), createTestDrive({ label })]);
});
after(cleanupTestDrives);

const umount = (dir: string) => runCommand('umount', ['--', dir]);

async function usbDest(enrolled?: EnrolledIdentity): Promise<{ dest: Destination; mnt: string }> {
  const mnt = join(await makeScratchDir(), 'usb-backup');
  await mkdir(mnt);
  return { dest: { name: 'media', kind: 'usb', label, mountpoint: mnt, root: join(mnt, 'lifeboat'), ...(enrolled ? { enrolled } : {}) }, mnt };
}

const identity = (): EnrolledIdentity => ({ label, uuid: enrolledDrive.uuid, repositoryId: 'a'.repeat(64), enrolledAt: Date.parse('2026-01-02T03:04:00Z'), lastSeen: Date.parse('2026-02-03T04:05:00Z') });

test('a drive with the enrolled label but another UUID is wrong-drive, naming both UUIDs and when the enrolled one was last seen', async () => {
  const { dest, mnt } = await usbDest(identity());
  await impostor.mount(mnt);
  try {
    const s = await checkEnrolledDestination(dest, probe);
    assert.equal(s.state, 'wrong-drive');
    if (s.state !== 'wrong-drive') return;
    assert.equal(s.enrolled?.uuid, enrolledDrive.uuid);
    assert.equal(
      s.why,
      `This ${label} (${impostor.device}, UUID ${impostor.uuid}) is not the enrolled drive of 'media' (UUID ${enrolledDrive.uuid}, enrolled 2026-01-02 03:04 UTC, last seen 2026-02-03 04:05 UTC): ` +
        "nothing will be written to it; plug in the enrolled drive, or make this one the drive of 'media' with `lifeboat drive enroll media --replace`",
    );
    assert.deepEqual(await readdir(mnt), ['lost+found'], 'nothing written');
    // A UUID in the configuration (the new drive's) does not make it the enrolled drive either.
    const configured = await checkEnrolledDestination({ ...dest, uuid: impostor.uuid }, probe);
    assert.equal(configured.state, 'wrong-drive');
    assert.match(configured.state === 'wrong-drive' ? configured.why : '', new RegExp(`is not the enrolled drive of 'media' \\(UUID ${enrolledDrive.uuid},`));
  } finally {
    await umount(mnt);
  }
  // Not mounted at all, the impostor is still named for what it is (before anything mounts it).
  const unmounted = await checkEnrolledDestination(dest, probe);
  assert.equal(unmounted.state, 'not-mounted', 'with the enrolled drive plugged in too, it is the one chosen');
  assert.equal(unmounted.state === 'not-mounted' && unmounted.device, enrolledDrive.device);
});

test('with two same-label drives plugged in, the enrolled UUID picks the drive; findAttachedDrives matches only that one', async () => {
  const { dest } = await usbDest();
  const plain = await checkEnrolledDestination(dest, probe);
  assert.equal(plain.state, 'not-mounted');
  assert.match(plain.state === 'not-mounted' ? plain.why : '', new RegExp(`^2 drives matching ${label} are plugged in`));
  const withEnrolment = { ...dest, enrolled: identity() };
  const matches = await findAttachedDrives(probe, [withEnrolment]);
  assert.deepEqual(matches.map((m) => m.drive.device), [enrolledDrive.device]);
});

test('the enrolled drive without its marker is missing (the repository is not there); never enrolled without an enrolment', async () => {
  const { dest, mnt } = await usbDest(identity());
  await enrolledDrive.mount(mnt);
  try {
    const s = await checkEnrolledDestination(dest, probe);
    assert.equal(s.state, 'missing');
    assert.equal(
      s.state === 'missing' && s.why,
      `The repository enrolled for 'media' (id aaaaaaaaaa) is not there: ${mnt}/lifeboat does not exist (the drive was emptied or its directory removed); nothing will be written there. If it is lost for good, start anew with \`lifeboat drive enroll media --replace\``,
    );
    const { enrolled: _, ...bare } = dest;
    const never = await checkEnrolledDestination(bare, probe);
    assert.equal(never.state, 'not-enrolled');
    assert.match(never.state === 'not-enrolled' ? never.why : '', new RegExp(`^${label} was never enrolled for destination 'media'`));

    await mkdir(dest.root);
    await writeMarker(dest.root, newMarker({ destination: 'media', label, uuid: enrolledDrive.uuid, repositoryId: 'a'.repeat(64) }));
    const ready = await checkEnrolledDestination(dest, probe);
    assert.equal(ready.state, 'ready');
    assert.equal(ready.state === 'ready' && ready.marker.uuid, enrolledDrive.uuid);
  } finally {
    await umount(mnt);
  }
});

test('a share mounted empty where the repository was says the enrolled repository is not there, not "never enrolled for destination"', async () => {
  const share = join(await makeScratchDir(), 'nas');
  await mountTmpfs(share);
  const dest: Destination = { name: 'nas', kind: 'nas', mountpoint: share, root: join(share, 'lifeboat'), enrolled: { repositoryId: '1a2b'.repeat(16), enrolledAt: 0 } };
  const s = await checkEnrolledDestination(dest, probe);
  assert.equal(s.state, 'missing');
  assert.match(s.state === 'missing' ? s.why : '', /^The repository enrolled for 'nas' \(id 1a2b1a2b1a\) is not there: .* does not exist \(the share is empty or was replaced\)/);
  const { enrolled: _, ...bare } = dest;
  const never = await checkEnrolledDestination(bare, probe);
  assert.equal(never.state === 'not-enrolled' && never.why, `Destination 'nas' was never enrolled (no ${dest.root}/.lifeboat-drive.json): enroll it once before the first run with \`lifeboat drive enroll nas\``);
});
