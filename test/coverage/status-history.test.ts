/**
 * `status` across runs and time. Through the CLI: a drive that was seen and is now unplugged is
 * ABSENT (not a failure) and keeps its last success and snapshot from the state store, also
 * after a run that found it absent. In process (the CLI has no clock to set): coverageStatus
 * with a real state store and `now` moved forward judges a daily cell OK -> DUE -> STALE while
 * the drive is here, and ABSENT -> STALE (with a DRIVE_NOT_SEEN finding) once the drive has not
 * been seen for longer than the frequency.
 */
import assert from 'node:assert/strict';
import { existsSync, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfigOrThrow, type Config } from '../../src/config/index.ts';
import { systemProbe } from '../../src/ops/devices/index.ts';
import { cleanupTestDrives, createTestDrive, type TestDrive } from '../../src/ops/devices/test-drive.ts';
import { coverageStatus, type StatusReport } from '../../src/ops/jobs/coverage-status.ts';
import { isDue } from '../../src/ops/jobs/run-coverage.ts';
import { StateStore } from '../../src/ops/state/state-store.ts';
import { cell, cleanEnv, lifeboat, plugIn, requireEnvironment, runLines, scratch, statusJson, unplug, writeTree, writeUsbCellConfig, enroll } from './harness.ts';

const HOUR = 3600_000;

describe('status across runs and time', () => {
  let drive: TestDrive;
  let dir: string;
  let passwordFile: string;
  let config: string;
  let mp: string;
  let lastSuccess: string;
  let snapshot: string;

  before(async () => {
    requireEnvironment();
    ({ dir, passwordFile } = await scratch());
    drive = await createTestDrive();
    mp = path.join(dir, 'mnt', 'usb');
    await drive.mount(mp);
    await writeTree(path.join(dir, 'data'), { 'ledger.csv': 'date,amount\n' });
    config = await writeUsbCellConfig({ dir, passwordFile, destination: 'usb', label: drive.label, mountpoint: mp, source: 'ledger', paths: [`${dir}/data`], priority: 'medium', frequency: 'daily' });
    await enroll(config, 'usb');
  });

  after(async () => {
    await cleanupTestDrives();
  });

  it('before the first run the cell is NEVER and status exits 1', async () => {
    const s = await statusJson(config);
    assert.equal(s.code, 1);
    const c = cell(s.cells, 'ledger', 'usb');
    assert.equal(c.state, 'NEVER');
    assert.equal(c.last_success, null);
    assert.equal(c.snapshots, 0);
  });

  it('a drive seen and then unplugged is ABSENT and keeps its last success from the state store', async () => {
    const r = await lifeboat(config, ['run', '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    snapshot = cell(runLines(r.stdout).cells, 'ledger', 'usb').snapshot!;

    const here = cell((await statusJson(config)).cells, 'ledger', 'usb');
    assert.equal(here.state, 'OK');
    assert.equal(here.snapshot, snapshot);
    assert.equal(here.snapshots, 1);
    lastSuccess = here.last_success!;
    const seen = here.last_seen!;

    await unplug(drive);
    const s = await statusJson(config);
    assert.equal(s.code, 0, 'an absent drive alone does not make status fail');
    const away = cell(s.cells, 'ledger', 'usb');
    assert.equal(away.state, 'ABSENT');
    assert.equal(away.destination_present, false);
    assert.match(away.destination_why!, new RegExp(`${drive.label} is not plugged in`));
    assert.equal(away.last_success, lastSuccess, 'the same last success as while the drive was here');
    assert.equal(away.snapshot, snapshot, 'the snapshot recorded in the state store');
    assert.equal(away.snapshots, null, 'the repository cannot be counted while the drive is away');
    assert.equal(away.last_seen, seen);
  });

  it('a run that finds the drive absent records it as such: still ABSENT, last success unchanged', async () => {
    const r = await lifeboat(config, ['run', '--json']);
    assert.equal(r.code, 13, `its only cell was skipped: nothing was backed up\n${r.stdout}${r.stderr}`);
    assert.equal(cell(runLines(r.stdout).cells, 'ledger', 'usb').outcome, 'absent');
    const away = cell((await statusJson(config)).cells, 'ledger', 'usb');
    assert.equal(away.state, 'ABSENT');
    assert.equal(away.last_success, lastSuccess);
    assert.match(away.last_error!, /not plugged in/);
  });

  describe('with the clock moved forward (coverageStatus in process, real state store)', () => {
    let cfg: Config;
    let state: StateStore;
    const at = async (hoursLater: number): Promise<{ report: StatusReport; state: string }> => {
      const report = await coverageStatus(cfg, { probe: systemProbe(), state, now: new Date(Date.parse(lastSuccess) + hoursLater * HOUR) });
      return { report, state: cell(report.cells, 'ledger', 'usb').state };
    };

    before(async () => {
      ({ config: cfg } = await loadConfigOrThrow(config, { readFile: (p) => fsp.readFile(p, 'utf8'), exists: (p) => existsSync(p), env: cleanEnv() }));
      state = StateStore.open(cfg.state_dir);
    });

    after(() => {
      state?.close();
    });

    it('drive away: ABSENT within the frequency, STALE once not seen for longer than it', async () => {
      assert.equal((await at(12)).state, 'ABSENT');
      for (const h of [36, 72]) {
        const { report, state: s } = await at(h);
        assert.equal(s, 'STALE', `${h} h later`);
        const finding = report.warnings.find((w) => w.code === 'DRIVE_NOT_SEEN');
        assert.ok(finding, `${h} h later: ${JSON.stringify(report.warnings)}`);
        assert.equal(finding.level, 'error');
        assert.match(finding.message, new RegExp(`^usb has not been seen since .*: the copy of ledger there is ${h} h old$`));
      }
    });

    it('drive here: OK within the frequency, DUE after it, STALE after twice it', async () => {
      await plugIn(drive);
      await drive.mount(mp);
      // Oldest first: a status with the drive here records the sighting at its `now`.
      for (const [h, want] of [
        [12, 'OK'],
        [36, 'DUE'],
        [72, 'STALE'],
      ] as const) {
        const { report, state: s } = await at(h);
        assert.equal(s, want, `${h} h later`);
        const c = cell(report.cells, 'ledger', 'usb');
        assert.equal(c.age_seconds, h * 3600);
        assert.equal(c.last_success, lastSuccess);
        assert.equal(report.warnings.some((w) => w.code === 'DRIVE_NOT_SEEN'), false);
      }
      const src = cfg.sources[0]!;
      const t = Date.parse(lastSuccess);
      assert.equal(isDue(src, t, t + 12 * HOUR), false, 'run --due skips a cell that is OK');
      assert.equal(isDue(src, t, t + 36 * HOUR), true, 'run --due runs a cell that is DUE');
    });
  });
});
