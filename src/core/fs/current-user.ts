/**
 * The running user as restic records it in snapshots, locks and keys: name, uid, gid. A user
 * without a passwd entry (containers, systemd DynamicUser) gets an empty name, not an error.
 */
import { userInfo } from 'node:os';

export interface CurrentUser {
  readonly username: string;
  readonly uid: number;
  readonly gid: number;
}

export function currentUser(): CurrentUser {
  try {
    const u = userInfo();
    return { username: u.username, uid: u.uid, gid: u.gid };
  } catch {
    return { username: '', uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
  }
}
