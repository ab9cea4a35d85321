/**
 * Typed access to the native addon `lifeboat_posix` (src/native/posix.c): the syscalls Node lacks
 * and a restore needs to be as faithful as `rsync -aAXH` — utimensat with nanoseconds, the
 * l*xattr family, and mknod.
 *
 * The addon is loaded on first use, not at import, so modules that import this one still work on
 * a checkout where the addon was not built until they actually need it. It lives at
 * <package root>/build/Release/lifeboat_posix.node; the package root is the nearest directory
 * above this file holding a package.json, which is the same from src/ (tsx) and dist/ (tsc).
 *
 * Failed syscalls throw the addon's errors unchanged: Error objects shaped like Node's fs errors
 * (`code` 'ENOENT', 'ENOTSUP', ..., `errno`, `syscall`, `path`), so callers handle both alike.
 * Every call is synchronous; each is one short metadata syscall.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LifeboatError } from '../errors.ts';

/** A path as Node's fs takes it: a string (UTF-8) or raw bytes, for names that are not UTF-8. */
export type PosixPath = string | Buffer;

/** One timestamp: whole seconds since the epoch (may be negative) and 0..999999999 ns. */
export interface Timespec {
  readonly sec: bigint;
  readonly nsec: number;
}

/** The error the addon throws for a failed syscall. */
export interface PosixError extends Error {
  readonly code: string;
  readonly errno: number;
  readonly syscall: string;
  readonly path?: PosixPath;
}

/** The addon's exports, exactly as src/native/posix.c defines them. */
export interface PosixBinding {
  utimensat(
    path: PosixPath,
    atimeSec: bigint,
    atimeNsec: number,
    mtimeSec: bigint,
    mtimeNsec: number,
    noFollow: boolean,
  ): void;
  llistxattr(path: PosixPath): Buffer[];
  lgetxattr(path: PosixPath, name: string | Uint8Array): Buffer;
  lsetxattr(path: PosixPath, name: string | Uint8Array, value: Uint8Array, flags: number): void;
  lremovexattr(path: PosixPath, name: string | Uint8Array): void;
  mknod(path: PosixPath, mode: number, dev: bigint | number): void;
  makedev(major: number, minor: number): bigint;
  major(dev: bigint | number): number;
  minor(dev: bigint | number): number;
  /** Poly1305 tag of `message` under the one-time `key` (r || s, 32 bytes); see poly1305.c. */
  poly1305(message: Uint8Array, key: Uint8Array): Buffer;
  /** The chunker's inner loop; see chunker.c for the argument layout. */
  /** restic's seal into `out` (plaintext.length + 32 bytes); keys = encrypt || macK || macR. See aead.c. */
  sealInto(keys: Uint8Array, iv: Uint8Array, plaintext: Uint8Array, out: Uint8Array): true;
  /** Verifies the MAC, then decrypts into `out` (sealed.length - 32 bytes, may be sealed[16..]); false on a bad MAC. */
  openInto(keys: Uint8Array, sealed: Uint8Array, out: Uint8Array): boolean;
  /** zstd through the system's libzstd; see zstd.c. */
  zstdCompressBound(n: number): number;
  zstdCompressInto(src: Uint8Array, dst: Uint8Array, level: number): number;
  zstdDecompressInto(src: Uint8Array, dst: Uint8Array): number;
  /** A directory's names (sorted by bytes) with 16 lstat/xattr fields each; see scandir.c. */
  scanDir(path: Buffer): [Buffer, Uint32Array, BigInt64Array];
  chunkScan(tables: BigUint64Array, state: BigUint64Array, data: Uint8Array, start: number, end: number, firstCut: number, stop: number, shift: number): number;
}

export const ADDON_NAME = 'lifeboat_posix';
const XATTR_CREATE = 1;
const XATTR_REPLACE = 2;

let cached: PosixBinding | undefined;

/** The nearest directory at or above `from` that holds a package.json. */
export function packageRoot(from: string): string | undefined {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) return undefined;
  }
}

/** Loads the addon once; throws LifeboatError IO with an operator hint if it is missing. */
export function loadPosix(): PosixBinding {
  if (cached !== undefined) return cached;
  const here = path.dirname(fileURLToPath(import.meta.url));
  const root = packageRoot(here);
  const file = path.join(root ?? here, 'build', 'Release', `${ADDON_NAME}.node`);
  try {
    cached = createRequire(import.meta.url)(file) as PosixBinding;
  } catch (err) {
    const missing = !existsSync(file);
    throw new LifeboatError(
      'IO',
      `Cannot load the native addon ${file}: ${missing ? 'it was not built' : (err as Error).message}`,
      { hint: 'run npm ci (builds the native addon)', cause: err },
    );
  }
  return cached;
}

/** True if `err` is an error the addon or Node's fs threw for a failed syscall with `code`. */
export function isErrno(err: unknown, ...codes: readonly string[]): err is PosixError {
  const code = (err as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' && codes.includes(code);
}

/**
 * Sets atime and mtime to the nanosecond. With `noFollow`, a symlink's own times are set
 * (AT_SYMLINK_NOFOLLOW) rather than its target's.
 */
export function utimensat(
  target: PosixPath,
  times: { readonly atime: Timespec; readonly mtime: Timespec },
  opts: { readonly noFollow?: boolean } = {},
): void {
  const { atime, mtime } = times;
  loadPosix().utimensat(target, atime.sec, atime.nsec, mtime.sec, mtime.nsec, opts.noFollow ?? false);
}

/** Names of the extended attributes of `target` itself (never a symlink's target), raw bytes. */
export function llistxattr(target: PosixPath): Buffer[] {
  return loadPosix().llistxattr(target);
}

/** The value of one extended attribute; ENODATA if it is absent. */
export function lgetxattr(target: PosixPath, name: string | Uint8Array): Buffer {
  return loadPosix().lgetxattr(target, name);
}

/**
 * Sets one extended attribute. `create` fails with EEXIST if it exists, `replace` with
 * ENODATA if it does not; by default either is fine.
 */
export function lsetxattr(
  target: PosixPath,
  attr: { readonly name: string | Uint8Array; readonly value: Uint8Array },
  opts: { readonly create?: boolean; readonly replace?: boolean } = {},
): void {
  const flags = (opts.create === true ? XATTR_CREATE : 0) | (opts.replace === true ? XATTR_REPLACE : 0);
  loadPosix().lsetxattr(target, attr.name, attr.value, flags);
}

/** Removes one extended attribute; ENODATA if it is absent. */
export function lremovexattr(target: PosixPath, name: string | Uint8Array): void {
  loadPosix().lremovexattr(target, name);
}

/**
 * Creates a filesystem node. `mode` carries the type (fs.constants.S_IFIFO, S_IFCHR, S_IFBLK,
 * S_IFREG, S_IFSOCK) and the permission bits, which the process umask filters as with mknod(2).
 * `rdev` matters for devices only.
 */
export function mknod(target: PosixPath, node: { readonly mode: number; readonly rdev?: bigint | number }): void {
  loadPosix().mknod(target, node.mode, node.rdev ?? 0);
}

/** The dev_t for a device number pair, as fs.Stats' `rdev` (bigint form) reports it. */
export function makedev(major: number, minor: number): bigint {
  return loadPosix().makedev(major, minor);
}

export function major(dev: bigint | number): number {
  return loadPosix().major(dev);
}

export function minor(dev: bigint | number): number {
  return loadPosix().minor(dev);
}
