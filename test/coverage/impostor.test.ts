/**
 * A swapped drive, through the CLI, with two real loop drives formatted with the same label (the
 * configuration names only the label). The state store remembers the enrolled drive's UUID, so a
 * same-label impostor is refused by name by run, enroll, usb and status (never "never enrolled
 * ... enroll it once", which would have invited it in); making it the destination's drive is an
 * explicit, confirmed `drive enroll --replace --yes`, after which the old drive is refused and
 * status shows none of the old repository's history.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cleanupTestDrives, createTestDrive, randomLabel, type TestDrive } from '../../src/ops/devices/test-drive.ts';
import { cell, cleanEnv, enroll, isMounted, LIFEBOAT, lifeboat, listTree, mountDevice, plugIn, requireEnvironment, resticSnapshots, runLines, scratch, statusJson, umount, unplug, writeTree, writeUsbCellConfig } from './harness.ts';

describe('an impostor with the enrolled label', () => {
  const label = randomLabel();
  let a: TestDrive; // enrolled first
  let b: TestDrive; // same label, another UUID
  let dir: string;
  let passwordFile: string;
  let config: string;
  let mp: string;

  const mountedAnywhere = async (d: TestDrive): Promise<boolean> => (await fsp.readFile('/proc/self/mountinfo', 'utf8')).split('\n').some((l) => l.split(' - ')[1]?.split(' ')[1] === d.device);
  const impostorLine = (imp: TestDrive, enrolled: TestDrive): RegExp =>
    new RegExp(`This ${label} \\(${imp.device}, UUID ${imp.uuid}\\) is not the enrolled drive of 'usb' \\(UUID ${enrolled.uuid}, enrolled \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC, last seen \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC\\)`);

  before(async () => {
    requireEnvironment();
    ({ dir, passwordFile } = await scratch());
    [a, b] = await Promise.all([createTestDrive({ label }), createTestDrive({ label })]);
    mp = path.join(dir, 'mnt', 'usb');
    await fsp.mkdir(mp, { recursive: true });
    await writeTree(path.join(dir, 'data'), { 'receipt.pdf': 'receipt\n' });
    config = await writeUsbCellConfig({ dir, passwordFile, destination: 'usb', label, mountpoint: mp, source: 'data', paths: [`${dir}/data`], priority: 'medium', frequency: 'daily' });
  });

  after(async () => {
    await cleanupTestDrives();
  });

  it('two drives with the label plugged in, nothing enrolled: status says so, not "absent, seen never"', async () => {
    const text = await lifeboat(config, ['status']);
    assert.equal(text.code, 1, text.stdout + text.stderr);
    assert.match(text.stdout, /^NEVER +data +usb .* not mounted, seen never$/m);
    assert.match(text.stdout, new RegExp(`^usb: 2 drives matching ${label} are plugged in \\(`, 'm'));
    assert.doesNotMatch(text.stdout, /absent, seen never/);
  });

  it('the drive enrolled and written first', async () => {
    await a.mount(mp);
    await enroll(config, 'usb');
    const r = await lifeboat(config, ['run', '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(cell(runLines(r.stdout).cells, 'data', 'usb').outcome, 'success');
    await umount(mp);
  });

  it('run refuses the impostor with the truth: its UUID, the enrolled UUID and when that was last seen', async () => {
    await unplug(a);
    await b.mount(mp);
    const before = await listTree(mp);
    const r = await lifeboat(config, ['run', '--json']);
    assert.equal(r.code, 13, r.stdout + r.stderr); // DEVICE_UNAVAILABLE, the one failure's code
    const c = cell(runLines(r.stdout).cells, 'data', 'usb');
    assert.equal(c.outcome, 'failed');
    assert.match(c.error!, impostorLine(b, a));
    assert.doesNotMatch(c.error!, /never enrolled|enroll it once/);
    assert.deepEqual(await listTree(mp), before, 'nothing written to the impostor');
  });

  it('status shows it FAILED with WRONG DRIVE and the reason, and exits 1', async () => {
    const text = await lifeboat(config, ['status']);
    assert.equal(text.code, 1);
    assert.match(text.stdout, /^FAILED +data +usb .* WRONG DRIVE$/m);
    assert.match(text.stdout, new RegExp(`^usb: ${impostorLine(b, a).source}`, 'm'));
    const s = await statusJson(config);
    assert.equal(cell(s.cells, 'data', 'usb').destination_state, 'wrong-drive');
  });

  it('enroll without --replace refuses it (exit 13) and writes nothing; --replace needs --yes off a terminal, and a "yes" typed on one', async () => {
    const before = await listTree(mp);
    const e = await lifeboat(config, ['drive', 'enroll', 'usb']);
    assert.equal(e.code, 13, e.stdout + e.stderr);
    assert.match(e.stderr, new RegExp(`^lifeboat: Cannot enroll usb: ${impostorLine(b, a).source}.*--replace\`? \\[DEVICE_UNAVAILABLE\\]$`, 'm'));
    const unconfirmed = await lifeboat(config, ['drive', 'enroll', 'usb', '--replace']);
    assert.equal(unconfirmed.code, 2, unconfirmed.stdout + unconfirmed.stderr);
    assert.match(unconfirmed.stderr, /--replace needs --yes when not run on a terminal \[USAGE\]/);
    // On a terminal it asks; anything but "yes" replaces nothing.
    const asked = spawnSync('script', ['-qec', `${LIFEBOAT} drive enroll usb --replace --config ${config}`, '/dev/null'], { input: 'no\n', encoding: 'utf8', env: cleanEnv() });
    assert.equal(asked.status, 2, asked.stdout);
    assert.match(asked.stdout, /Type yes: /);
    assert.match(asked.stdout, /drive enroll usb --replace was not confirmed \[USAGE\]/);
    assert.deepEqual(await listTree(mp), before);
  });

  it('lifeboat usb with the impostor plugged in says it is the wrong drive, mounts and runs nothing, exits non-zero', async () => {
    await umount(mp);
    const r = await lifeboat(config, ['usb']);
    assert.equal(r.code, 13, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`^usb: ${impostorLine(b, a).source}`, 'm'));
    assert.doesNotMatch(r.stdout, /not due|safe to unplug|no enrolled drive/);
    assert.equal(await mountedAnywhere(b), false, 'the impostor is not left mounted');
    assert.equal(await isMounted(mp), false);
  });

  it('drive enroll --replace --yes makes the new drive the one: a new repository, no history from the old one', async () => {
    const e = await lifeboat(config, ['drive', 'enroll', 'usb', '--replace', '--yes']);
    assert.equal(e.code, 0, e.stdout + e.stderr);
    assert.match(e.stdout, new RegExp(`^replaced the enrolment of usb \\(drive UUID ${a.uuid}\\) \\(repository [0-9a-f]{10}\\): it is refused from now on$`, 'm'));
    assert.match(e.stdout, /: repository [0-9a-f]{10} created$/m);
    assert.match(e.stdout, /^note: unmounted /m, 'enroll mounted the unmounted drive and unmounts it again');
    assert.equal(await mountedAnywhere(b), false);

    const s = await statusJson(config);
    const c = cell(s.cells, 'data', 'usb');
    assert.equal(c.state, 'NEVER', 'the old drive history does not count for the new one');
    assert.equal(c.last_success, null);
    assert.equal(c.snapshot, null);

    const r = await lifeboat(config, ['usb']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^OK +data -> usb: /m);
    await b.mount(mp);
    assert.equal((await resticSnapshots(path.join(mp, 'lifeboat'), passwordFile)).length, 1);
    const after = cell((await statusJson(config)).cells, 'data', 'usb');
    assert.equal(after.state, 'OK');
    assert.equal(after.snapshots, 1);
    await umount(mp);
  });

  it('after the replacement the old drive is refused by name', async () => {
    await unplug(b);
    await plugIn(a);
    await mountDevice(a.device, mp);
    const r = await lifeboat(config, ['run', '--json']);
    assert.equal(r.code, 13, r.stdout + r.stderr);
    assert.match(cell(runLines(r.stdout).cells, 'data', 'usb').error!, impostorLine(a, b));
    await umount(mp);
  });
});
