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

test('a state.db from before enrolments opens as it is: the runs table gains repository_id, old rows keep theirs empty', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'lifeboat-state-'));
  try {
    // The runs table exactly as older lifeboat versions created it, with one run in it.
    const old = new Database(path.join(dir, 'state.db'));
    old.exec(`CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, source TEXT NOT NULL, destination TEXT NOT NULL,
      started_at INTEGER NOT NULL, finished_at INTEGER NOT NULL, outcome TEXT NOT NULL, bytes INTEGER NOT NULL, files INTEGER NOT NULL,
      snapshot TEXT, error TEXT)`);
    old.prepare("INSERT INTO runs (source, destination, started_at, finished_at, outcome, bytes, files, snapshot) VALUES ('etc','usb',1,2,'success',1,1,'old')").run();
    old.close();
    const s = StateStore.open(dir);
    assert.equal(s.lastSuccess('etc', 'usb')?.snapshot, 'old');
    assert.equal(s.lastSuccess('etc', 'usb')?.repositoryId, undefined);
    s.recordRun({ source: 'etc', destination: 'usb', startedAt: 3, finishedAt: 4, outcome: 'success', bytes: 1, files: 1, snapshot: 'new', repositoryId: 'r1' });
    assert.equal(s.lastSuccess('etc', 'usb')?.repositoryId, 'r1');
    s.close();
    StateStore.open(dir).close(); // the column is added once
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('cellHistory counts only the enrolled repository: a replaced one leaves no runs or drills behind, id-less runs count from the enrolment on', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'lifeboat-state-'));
  try {
    const s = StateStore.open(dir);
    assert.equal(s.enrolment('nas'), undefined);
    s.recordEnrolment({ destination: 'nas', repositoryId: 'old-repo', enrolledAt: 100 });
    s.recordRun({ source: 'etc', destination: 'nas', startedAt: 150, finishedAt: 200, outcome: 'success', bytes: 1, files: 1, snapshot: 'a', repositoryId: 'old-repo' });
    s.recordRun({ source: 'etc', destination: 'nas', startedAt: 250, finishedAt: 300, outcome: 'failed', bytes: 0, files: 0, error: 'gone' });
    s.recordDrill({ source: 'etc', destination: 'nas', snapshot: 'a', at: 320, ok: true, filesChecked: 1, bytesChecked: 1, coverage: 1 });
    const before = s.cellHistory('etc', 'nas', { repositoryId: 'old-repo', since: 100 });
    assert.equal(before.lastSuccess?.snapshot, 'a');
    assert.equal(before.lastRun?.outcome, 'failed');
    assert.equal(before.lastDrill?.snapshot, 'a');

    s.recordEnrolment({ destination: 'nas', repositoryId: 'new-repo', enrolledAt: 400 });
    assert.deepEqual(s.enrolment('nas'), { destination: 'nas', label: undefined, uuid: undefined, repositoryId: 'new-repo', enrolledAt: 400 });
    assert.deepEqual(s.cellHistory('etc', 'nas', { repositoryId: 'new-repo', since: 400 }), {});
    s.recordRun({ source: 'etc', destination: 'nas', startedAt: 450, finishedAt: 500, outcome: 'success', bytes: 1, files: 1, snapshot: 'b', repositoryId: 'new-repo' });
    // A run written against the old repository after the replacement still does not count.
    s.recordRun({ source: 'etc', destination: 'nas', startedAt: 550, finishedAt: 600, outcome: 'success', bytes: 1, files: 1, snapshot: 'stray', repositoryId: 'old-repo' });
    const after = s.cellHistory('etc', 'nas', { repositoryId: 'new-repo', since: 400 });
    assert.equal(after.lastSuccess?.snapshot, 'b');
    assert.equal(after.lastDrill, undefined);
    assert.equal(s.cellHistory('etc', 'nas').lastSuccess?.snapshot, 'stray', 'without a scope, all history');
    s.close();
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
