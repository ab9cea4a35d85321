/**
 * The storage seam (design.rst "Repository Format", layout section). A backend stores opaque
 * files by (type, name) and knows nothing of encryption. Local is the first implementation;
 * SFTP and S3 follow and must pass the same conformance suite (backend-conformance.ts).
 *
 * Contract:
 * - save() is atomic and durable: a reader sees the whole file or nothing, also after a crash
 *   (temp file, fsync, rename, fsync of the directory). Saving an existing name fails with
 *   code REPO_EXISTS unless the bytes are identical (content-addressed names make that a no-op).
 * - list() yields only names that parse as ids (temp files never show), for `data` one level
 *   down as restic's layout has it.
 * - load() of a missing file throws NOT_FOUND; a short range read throws INTEGRITY.
 */
export type FileType = 'config' | 'key' | 'data' | 'index' | 'snapshot' | 'lock';

export interface FileInfo {
  readonly name: string;
  readonly size: number;
}

export interface Backend {
  /** Human-readable location, for messages. */
  readonly location: string;
  /** True if a repository config file is present. */
  exists(): Promise<boolean>;
  /** Creates the directory skeleton of a new repository. Fails if a config already exists. */
  create(): Promise<void>;
  save(type: FileType, name: string, data: Uint8Array | readonly Uint8Array[]): Promise<void>;
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
