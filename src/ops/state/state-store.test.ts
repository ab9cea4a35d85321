import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { StateStore } from './state-store.ts';

test('the state store keeps run history across reopening and answers last run and last success per cell', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'lifeboat-state-'));
  try {
    let s = StateStore.open(dir);
    s.recordRun({ source: 'etc', destination: 'usb', startedAt: 1000, finishedAt: 2000, outcome: 'success', bytes: 10, files: 2, snapshot: 'abc' });
    s.recordRun({ source: 'etc', destination: 'usb', startedAt: 3000, finishedAt: 4000, outcome: 'failed', bytes: 0, files: 0, error: 'disk full' });
    s.recordRun({ source: 'etc', destination: 'nas', startedAt: 3000, finishedAt: 5000, outcome: 'absent', bytes: 0, files: 0 });
    s.close();
    s = StateStore.open(dir);
    assert.equal(s.lastRun('etc', 'usb')?.outcome, 'failed');
    assert.equal(s.lastSuccess('etc', 'usb')?.snapshot, 'abc');
    assert.equal(s.lastSuccess('etc', 'nas'), undefined);
    assert.equal(s.runs({ source: 'etc' }).length, 3);
    assert.equal(s.runs({ destination: 'nas' }).length, 1);
    s.markSeen({ destination: 'usb', lastSeen: 7, label: 'BU-X' });
    s.markSeen({ destination: 'usb', lastSeen: 9, label: 'BU-X' });
    assert.equal(s.lastSeen('usb')?.lastSeen, 9);
    s.recordDrill({ source: 'etc', destination: 'usb', snapshot: 'abc', at: 10, ok: true, filesChecked: 3, bytesChecked: 30, coverage: 0.5 });
    assert.equal(s.lastDrill('etc', 'usb')?.coverage, 0.5);
    s.setDrillCursor('etc', 'usb', '/etc/x', 1);
    assert.deepEqual(s.drillCursor('etc', 'usb'), { cursor: '/etc/x', round: 1 });
    s.close();
    assert.equal(statSync(path.join(dir, 'state.db')).mode & 0o777, 0o600);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
