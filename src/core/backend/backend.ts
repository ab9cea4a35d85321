/**
 * The storage seam (design.rst "Repository Format", layout section). A backend stores opaque
 * files by (type, name) and knows nothing of encryption. Local is the first implementation;
 * SFTP and S3 follow and must pass the same conformance suite (backend-conformance.ts).
 *
 * Contract:
 * - save() is atomic and durable: a reader sees the whole file or nothing, also after a crash
 *   (temp file, fsync, rename, fsync of the directory). Saving an existing name fails with
 *   code REPO_EXISTS unless the bytes are identical (content-addressed names make that a no-op).
 *   saveStream(), where offered, gives the same guarantees at commit().
 * - list() yields only names that parse as ids (temp files never show), for `data` one level
 *   down as restic's layout has it.
 * - load() of a missing file throws NOT_FOUND; a short range read throws INTEGRITY.
 */
export type FileType = 'config' | 'key' | 'data' | 'index' | 'snapshot' | 'lock';

export interface FileInfo {
  readonly name: string;
  readonly size: number;
}

/**
 * A file written in parts and named only when it is complete (a pack is named by the hash of
 * all its bytes). Nothing of it is visible before commit(); a crash leaves at most a temp file
 * that list() never shows.
 */
export interface SaveStream {
  /** Appends bytes. Calls must not overlap: await each before the next. */
  write(parts: readonly Uint8Array[]): Promise<void>;
  /** Makes the file durable and visible as `name`, with save()'s guarantees (and its REPO_EXISTS rule). */
  commit(name: string): Promise<void>;
  /** Drops the unfinished file; harmless after a failed write or commit. */
  abort(): Promise<void>;
}

export interface Backend {
  /** Human-readable location, for messages. */
  readonly location: string;
  /** True if a repository config file is present. */
  exists(): Promise<boolean>;
  /** Creates the directory skeleton of a new repository. Fails if a config already exists. */
  create(): Promise<void>;
  save(type: FileType, name: string, data: Uint8Array | readonly Uint8Array[]): Promise<void>;
  /**
   * Starts a file of `type` written in parts (SaveStream). Backends that can append to a
   * durable temp file offer it, so a pack's bytes need not all be held in memory until it is
   * complete.
   */
  saveStream?(type: Exclude<FileType, 'config'>): Promise<SaveStream>;
  /**
   * Deletes temp files that writes left behind without committing them (a process killed
   * mid-write, a drive pulled), which list() never shows. Only while no writer can be running:
   * under an exclusive lock.
   */
  removeTempFiles?(): Promise<{ files: number; bytes: number }>;
  /** What removeTempFiles() would delete now, deleting nothing (a writer may be running). */
  countTempFiles?(): Promise<{ files: number; bytes: number }>;
  /** Reads a whole file, or `length` bytes from `offset`. */
  load(type: FileType, name: string, range?: { offset: number; length: number }): Promise<Buffer>;
  stat(type: FileType, name: string): Promise<FileInfo>;
  /**
   * True when list() always shows every file whose save() has returned (a local filesystem).
   * Taking a lock then needs no wait between writing the lock file and looking for others.
   */
  readonly consistentListing?: boolean;
  /** The file's path on this machine, for backends whose files are local (worker threads read it directly). */
  localPath?(type: FileType, name: string): string;
  remove(type: FileType, name: string): Promise<void>;
  list(type: FileType): AsyncIterable<FileInfo>;
  close(): Promise<void>;
}

/** A listing read to its end: for wrappers that must hold a connection, or retry, around all of it. */
export async function readListing(backend: Pick<Backend, 'list'>, type: FileType): Promise<FileInfo[]> {
  const out: FileInfo[] = [];
  for await (const f of backend.list(type)) out.push(f);
  return out;
}
