/**
 * Serialises runs on one destination across processes (a timer run and a USB plug-in run may
 * start together). A lock is `<state_dir>/locks/<destination>.lock`, created with O_EXCL and
 * holding the owner's PID; a lock whose PID is dead is taken over. restic's repository locks
 * alone would not do: two backups may hold shared locks at once, and mirrors have none.
 */
import { promises as fsp, constants as fsc } from 'node:fs';
import { hostname } from 'node:os';
import * as path from 'node:path';
import { LifeboatError } from '../../core/errors.ts';

export interface DestinationLock {
  release(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function lockDestination(stateDir: string, destination: string, opts: { waitMs?: number } = {}): Promise<DestinationLock> {
  const dir = path.join(stateDir, 'locks');
  await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, `${destination}.lock`);
  const deadline = Date.now() + (opts.waitMs ?? 0);
  for (;;) {
    try {
      const fh = await fsp.open(file, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o600);
      await fh.writeFile(JSON.stringify({ pid: process.pid, hostname: hostname(), time: new Date().toISOString() }));
      await fh.close();
      let released = false;
      return {
        release: async () => {
          if (released) return;
          released = true;
          await fsp.rm(file, { force: true });
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let owner: { pid?: number; hostname?: string } = {};
    try {
      owner = JSON.parse(await fsp.readFile(file, 'utf8')) as typeof owner;
    } catch {
      /* being written or removed; look again */
    }
    if (typeof owner.pid === 'number' && owner.hostname === hostname() && !alive(owner.pid)) {
      await fsp.rm(file, { force: true });
      continue;
    }
    if (Date.now() >= deadline) {
      throw new LifeboatError('REPO_LOCKED', `Cannot run on destination ${destination}: another lifeboat run (PID ${owner.pid ?? '?'}) is using it`, {
        hint: 'wait for it to finish; runs on one destination never interleave',
      });
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
