/**
 * restic-compatible repository locks (restic-format.md §9.1). A lock is an unpacked file in
 * locks/. Exclusive conflicts with any lock, shared only with exclusive ones. Acquire = check,
 * write ours, wait (only where listings lag behind saves), re-check (someone may have raced
 * us). A held lock is refreshed every 5 minutes (new file, then old deleted) so others never
 * see it as stale.
 *
 * Stale: older than 30 minutes, or made on this host by a PID that no longer exists. Unlike
 * restic, acquiring removes stale locks *made by lifeboat or restic on this host whose process
 * is dead*, so our own crashed runs never need a manual unlock; locks of other hosts are only
 * removed once they are older than 30 minutes and never refreshed.
 */
import { hostname } from 'node:os';
import { currentUser } from '../fs/current-user.ts';
import { LifeboatError } from '../errors.ts';
import type { Id } from '../ids.ts';
import { formatGoTime } from '../crypto/time-now.ts';

export interface LockInfo {
  readonly time: string;
  readonly exclusive: boolean;
  readonly hostname: string;
  readonly username: string;
  readonly pid: number;
  readonly uid?: number;
  readonly gid?: number;
}

/** What lock handling needs of a repository; Repository implements it. */
export interface LockStore {
  listLocks(): Promise<Id[]>;
  loadLock(id: Id): Promise<LockInfo | undefined>;
  saveLock(json: Buffer): Promise<Id>;
  removeLock(id: Id): Promise<void>;
}

const STALE_MS = 30 * 60 * 1000;
const REFRESH_MS = 5 * 60 * 1000;

export function isStale(l: LockInfo, now = Date.now(), host = hostname()): boolean {
  const t = Date.parse(l.time);
  if (!Number.isFinite(t) || now - t > STALE_MS) return true;
  if (l.hostname === host) {
    try {
      process.kill(l.pid, 0);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ESRCH') return true;
    }
  }
  return false;
}

function encodeLock(exclusive: boolean): Buffer {
  const { username, uid, gid } = currentUser();
  let s = `{"time":${JSON.stringify(formatGoTime(new Date()))},"exclusive":${exclusive},"hostname":${JSON.stringify(hostname())},"username":${JSON.stringify(username)},"pid":${process.pid}`;
  if (uid) s += `,"uid":${uid}`;
  if (gid) s += `,"gid":${gid}`;
  return Buffer.from(s + '}');
}

function describe(l: LockInfo): string {
  return `${l.exclusive ? 'an exclusive' : 'a'} lock by PID ${l.pid} on ${l.hostname} (${l.username || 'unknown user'}) since ${l.time}`;
}

export class RepoLock {
  private id: Id;
  private timer: NodeJS.Timeout | undefined;
  private released = false;

  private constructor(
    private readonly store: LockStore,
    id: Id,
    private readonly exclusive: boolean,
  ) {
    this.id = id;
  }

  static async acquire(store: LockStore, opts: { exclusive: boolean; where: string; settleMs?: number; retryMs?: number }): Promise<RepoLock> {
    const deadline = Date.now() + (opts.retryMs ?? 0);
    for (;;) {
      const conflict = await RepoLock.findConflict(store, opts.exclusive, undefined);
      if (!conflict) {
        const id = await store.saveLock(encodeLock(opts.exclusive));
        await new Promise((r) => setTimeout(r, opts.settleMs ?? 200));
        const late = await RepoLock.findConflict(store, opts.exclusive, id);
        if (!late) {
          const lock = new RepoLock(store, id, opts.exclusive);
          lock.startRefresh();
          return lock;
        }
        await store.removeLock(id);
        if (Date.now() >= deadline) throw lockedError(opts.where, late);
      } else if (Date.now() >= deadline) {
        throw lockedError(opts.where, conflict);
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  }

  private static async findConflict(store: LockStore, exclusive: boolean, own: Id | undefined): Promise<LockInfo | undefined> {
    for (const id of await store.listLocks()) {
      if (id === own) continue;
      const l = await store.loadLock(id);
      if (!l) continue; // unreadable or vanished, as restic 0.14 does
      if (isStale(l)) {
        // A dead process's lock on this host, or an abandoned one: remove it so nobody needs `unlock`.
        if (l.hostname === hostname() || Date.now() - Date.parse(l.time) > STALE_MS) {
          await store.removeLock(id).catch(() => {});
        }
        continue;
      }
      if (exclusive || l.exclusive) return l;
    }
    return undefined;
  }

  private startRefresh(): void {
    this.timer = setInterval(() => {
      void this.refresh().catch(() => {});
    }, REFRESH_MS);
    this.timer.unref();
  }

  async refresh(): Promise<void> {
    if (this.released) return;
    const old = this.id;
    this.id = await this.store.saveLock(encodeLock(this.exclusive));
    await this.store.removeLock(old);
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    if (this.timer) clearInterval(this.timer);
    await this.store.removeLock(this.id);
  }
}

function lockedError(where: string, l: LockInfo): LifeboatError {
  return new LifeboatError('REPO_LOCKED', `Cannot lock repository ${where}: it is held by ${describe(l)}`, {
    hint: 'wait for that run to finish; a lock of a dead process on this host is removed automatically',
  });
}
