import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir, hostname } from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { lockDestination } from './destination-lock.ts';
import { LifeboatError } from '../../core/errors.ts';

test('two runs on one destination never hold the lock together; the second waits or is refused', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'lifeboat-dlock-'));
  try {
    const a = await lockDestination(dir, 'usb');
    await assert.rejects(lockDestination(dir, 'usb'), (e: unknown) => e instanceof LifeboatError && e.code === 'REPO_LOCKED');
    const other = await lockDestination(dir, 'nas');
    await other.release();
    const waiting = lockDestination(dir, 'usb', { waitMs: 5000 });
    setTimeout(() => void a.release(), 300);
    const b = await waiting;
    await b.release();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a lock left by a dead process on this host is taken over', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'lifeboat-dlock-'));
  try {
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
    mkdirSync(path.join(dir, 'locks'));
    writeFileSync(path.join(dir, 'locks', 'usb.lock'), JSON.stringify({ pid: Number(dead), hostname: hostname() }));
    const l = await lockDestination(dir, 'usb');
    await l.release();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
