/**
 * The worker task table: every task a worker thread runs, with its request, the parts it may
 * post while it runs, and its final reply, declared once. WorkerPool.run is typed by this table
 * and checks each reply's kind against it, so callers get the reply they asked for and never
 * test for "an unexpected worker reply" themselves.
 *
 * The task bodies live with the code that owns the job (archiver/file-chunker.ts,
 * restorer/file-writer.ts, checker/pack-verifier.ts, format/blob-seal.ts); the thread entry
 * (worker-thread/worker-thread.ts) dispatches to them. This module holds only data shapes, so
 * those folders import it and it imports none of them.
 */
import type { PackedBlob } from '../format/pack.ts';

/** Read, chunk, hash and seal whole files (archiver/file-chunker.ts): 'parts' messages, then 'filesDone'. */
export interface FileTask {
  readonly kind: 'files';
  /** Absolute paths as raw bytes (names need not be UTF-8). */
  readonly paths: readonly Uint8Array[];
  readonly pol: bigint;
  readonly compress: boolean;
  readonly known: SharedArrayBuffer;
}

export interface ChunkOut {
  readonly id: string;
  readonly length: number;
  /** Absent when the repository already held the blob (nothing to store). A view of the worker's ring. */
  readonly sealed?: Uint8Array;
  readonly uncompressedLength?: number;
  /** With `sealed`: the ring position just past it, which the main thread releases (RingReleaser). */
  readonly end?: number;
}

/** Results for one file, possibly in several parts; `end` is set on its last part. */
export interface FilePart {
  readonly file: number;
  readonly chunks: ChunkOut[];
  readonly end?: { readonly size: number } | { readonly error: { readonly code?: string; readonly message: string } };
}

export interface RestoreBlob {
  readonly id: string;
  /** The pack file's path in the local repository. */
  readonly pack: string;
  readonly offset: number;
  readonly length: number;
  readonly uncompressedLength: number | undefined;
  /** Where its plaintext goes in the file. */
  readonly at: number;
}

/** Verify, decrypt and write blobs from local pack files into open files (restorer/file-writer.ts): 'written' parts, then 'filesDone'. */
export interface WriteTask {
  readonly kind: 'writeFiles';
  readonly files: readonly { readonly fd: number; readonly size: number; readonly blobs: readonly RestoreBlob[] }[];
}

/** Progress for one file; `end` is set on its last part. */
export interface WritePart {
  readonly file: number;
  readonly bytes: number;
  readonly end?: { readonly ok: true } | { readonly error: { readonly code?: string; readonly message: string } };
}

/** check --read-data of one local pack file (checker/pack-verifier.ts): 'packChecked'. */
export interface PackCheckTask {
  readonly kind: 'checkPack';
  readonly path: string;
  readonly id: string;
  readonly indexed: readonly PackedBlob[];
}

/** Each task kind: its request, the parts it posts while running (never for most), its final reply. */
export interface TaskTable {
  seal: {
    req: { readonly kind: 'seal'; readonly data: Uint8Array; readonly compress: boolean | 'always' };
    part: never;
    reply: { readonly kind: 'sealed'; readonly sealed: Uint8Array; readonly uncompressedLength: number | undefined };
  };
  open: {
    req: { readonly kind: 'open'; readonly sealed: Uint8Array; readonly id: string; readonly uncompressedLength: number | undefined };
    part: never;
    reply: { readonly kind: 'opened'; readonly data: Uint8Array };
  };
  /** As 'open', but only the verdict comes back (check --read-data needs no plaintext). */
  verify: {
    req: { readonly kind: 'verify'; readonly sealed: Uint8Array; readonly id: string; readonly uncompressedLength: number | undefined };
    part: never;
    reply: { readonly kind: 'verified' };
  };
  files: { req: FileTask; part: { readonly kind: 'parts'; readonly parts: FilePart[] }; reply: { readonly kind: 'filesDone' } };
  writeFiles: { req: WriteTask; part: { readonly kind: 'written'; readonly parts: WritePart[] }; reply: { readonly kind: 'filesDone' } };
  checkPack: { req: PackCheckTask; part: never; reply: { readonly kind: 'packChecked'; readonly problems: string[] } };
}

export type TaskKind = keyof TaskTable;
export type TaskRequest<K extends TaskKind = TaskKind> = TaskTable[K]['req'];
export type TaskPart<K extends TaskKind = TaskKind> = TaskTable[K]['part'];
export type TaskReply<K extends TaskKind = TaskKind> = TaskTable[K]['reply'];

/** The final reply's kind for each task: the pool rejects any other answer as INTERNAL. */
export const REPLY_KIND: { readonly [K in TaskKind]: TaskReply<K>['kind'] } = {
  seal: 'sealed',
  open: 'opened',
  verify: 'verified',
  files: 'filesDone',
  writeFiles: 'filesDone',
  checkPack: 'packChecked',
};

/** The kinds of intermediate messages; any other message ends the task. */
export const PART_KINDS: ReadonlySet<string> = new Set(['parts', 'written']);
