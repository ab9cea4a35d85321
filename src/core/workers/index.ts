/**
 * Worker threads for the CPU-heavy per-blob work (zstd, AES-CTR, Poly1305, SHA-256, chunking):
 * the pool (worker-pool.ts), the typed task table every thread answers (tasks.ts), errors that
 * keep their code across the thread boundary (worker-error.ts) and the seal rings that backup's
 * file workers seal into (seal-ring.ts). The thread entry is worker-thread/worker-thread.ts,
 * loaded by URL; this folder imports none of the folders whose tasks it carries.
 */
export { WorkerPool, defaultWorkers, parseWorkerCount, setDefaultWorkers } from './worker-pool.ts';
export { errorReply, reviveError, type ErrorReply } from './worker-error.ts';
export { MAX_BLOB, RingReleaser, RingStopped, RingWriter, newRing, ringSize, type RingShare } from './seal-ring.ts';
export type { ChunkOut, FilePart, FileTask, PackCheckTask, RestoreBlob, TaskKind, TaskPart, TaskReply, TaskRequest, WritePart, WriteTask } from './tasks.ts';
