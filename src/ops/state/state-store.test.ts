import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
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

test('a state.db made before runs had a code column opens, gains the column and keeps each run code, interrupted runs included', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'lifeboat-state-'));
  try {
    // The runs table as the first release created it, with one row in it.
    const old = new Database(path.join(dir, 'state.db'));
    old.exec(`CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, source TEXT NOT NULL, destination TEXT NOT NULL,
      started_at INTEGER NOT NULL, finished_at INTEGER NOT NULL, outcome TEXT NOT NULL, bytes INTEGER NOT NULL, files INTEGER NOT NULL,
      snapshot TEXT, error TEXT)`);
    old.prepare("INSERT INTO runs (source, destination, started_at, finished_at, outcome, bytes, files) VALUES ('etc','usb',1,2,'success',5,1)").run();
    old.close();
    let s = StateStore.open(dir);
    assert.equal(s.lastSuccess('etc', 'usb')?.bytes, 5, 'the old row is still read');
    assert.equal(s.lastRun('etc', 'usb')?.code, undefined);
    s.recordRun({ source: 'etc', destination: 'usb', startedAt: 3, finishedAt: 4, outcome: 'failed', bytes: 0, files: 0, error: 'wrong password', code: 'WRONG_PASSWORD' });
    s.recordRun({ source: 'etc', destination: 'nas', startedAt: 3, finishedAt: 4, outcome: 'interrupted', bytes: 0, files: 0, error: 'interrupted', code: 'INTERRUPTED' });
    s.close();
    s = StateStore.open(dir);
    assert.equal(s.lastRun('etc', 'usb')?.code, 'WRONG_PASSWORD');
    assert.deepEqual([s.lastRun('etc', 'nas')?.outcome, s.lastRun('etc', 'nas')?.code], ['interrupted', 'INTERRUPTED']);
    assert.equal(s.lastSuccess('etc', 'nas'), undefined, 'an interrupted run is not a copy');
    s.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
