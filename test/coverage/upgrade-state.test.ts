/**
 * A state store from before enrolments were recorded (enrolled drives have only their marker):
 * the first check of the drive adopts the marker's identity into the state store, and enrolling
 * the same drive again keeps the history written before, instead of starting it anew.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { after, before, describe, it } from 'node:test';
import { cleanupTestDrives, createTestDrive, type TestDrive } from '../../src/ops/devices/test-drive.ts';
import { StateStore } from '../../src/ops/state/state-store.ts';
import { cell, enroll, lifeboat, requireEnvironment, scratch, statusJson, writeTree, writeUsbCellConfig } from './harness.ts';

describe('a state store from before enrolments', () => {
  let drive: TestDrive;
  let dir: string;
  let config: string;
  let lastSuccess: string;

  /** Forgets every enrolment, as a state.db written by an older lifeboat has none. */
  const forgetEnrolments = (): void => {
    const db = new Database(path.join(dir, 'state', 'state.db'));
    db.exec('DELETE FROM enrolments');
    db.close();
  };
  const enrolment = () => {
    const s = StateStore.open(path.join(dir, 'state'));
    try {
      return s.enrolment('usb');
    } finally {
      s.close();
    }
  };

  before(async () => {
    requireEnvironment();
    let passwordFile: string;
    ({ dir, passwordFile } = await scratch());
    drive = await createTestDrive();
    const mp = path.join(dir, 'mnt', 'usb');
    await drive.mount(mp);
    await writeTree(path.join(dir, 'data'), { 'a.txt': 'alpha\n' });
    config = await writeUsbCellConfig({ dir, passwordFile, destination: 'usb', label: drive.label, mountpoint: mp, source: 'data', paths: [`${dir}/data`], priority: 'medium', frequency: 'daily' });
    await enroll(config, 'usb');
    const r = await lifeboat(config, ['run']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    lastSuccess = cell((await statusJson(config)).cells, 'data', 'usb').last_success!;
  });

  after(async () => {
    await cleanupTestDrives();
  });

  it('status adopts the enrolled identity from the marker', async () => {
    forgetEnrolments();
    assert.equal(enrolment(), undefined);
    const s = await statusJson(config);
    assert.equal(cell(s.cells, 'data', 'usb').state, 'OK');
    const e = enrolment();
    assert.equal(e?.uuid, drive.uuid, 'the drive UUID is remembered from now on');
    assert.match(e?.repositoryId ?? '', /^[0-9a-f]{64}$/);
  });

  it('enrolling the same drive again keeps the history written before', async () => {
    forgetEnrolments();
    const r = await lifeboat(config, ['drive', 'enroll', 'usb']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /adopted$/m);
    const c = cell((await statusJson(config)).cells, 'data', 'usb');
    assert.equal(c.state, 'OK');
    assert.equal(c.last_success, lastSuccess);
  });
});
