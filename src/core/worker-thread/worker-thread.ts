/**
 * The worker thread's entry: it runs the tasks of workers/tasks.ts for WorkerPool. Blobs are
 * sealed and opened with format/blob-seal.ts; whole files are chunked and sealed into the
 * thread's seal ring (archiver/file-chunker.ts), restored from local packs
 * (restorer/file-writer.ts) and packs are checked (checker/pack-verifier.ts). Nothing imports
 * this module: WorkerPool loads it by URL, so it may sit above every folder it dispatches to.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { makeKey } from '../crypto/crypto.ts';
import { initZstd } from '../compress/zstd.ts';
import { openBlobBytes, sealBlob, sealIntoSlot, withOpenedBlob } from '../format/blob-seal.ts';
import { FileChunker } from '../archiver/file-chunker.ts';
import { FileWriter } from '../restorer/file-writer.ts';
import { PackVerifier } from '../checker/pack-verifier.ts';
import { RingWriter, errorReply, type RingShare, type TaskPart, type TaskReply, type TaskRequest } from '../workers/index.ts';

/** Small Buffers share Node's 8 KiB pool; only a buffer that owns its memory may be transferred. */
function ownBuffer(b: Uint8Array): Uint8Array {
  if (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength) return new Uint8Array(b.buffer, 0, b.byteLength);
  return new Uint8Array(b);
}

if (parentPort) {
  const port = parentPort;
  const init = workerData as { key: { encrypt: Uint8Array; macK: Uint8Array; macR: Uint8Array }; ring?: RingShare };
  const key = makeKey(init.key.encrypt, init.key.macK, init.key.macR);
  const ready = initZstd();
  let files: FileChunker | undefined;
  let writer: FileWriter | undefined;
  let packs: PackVerifier | undefined;
  port.on('message', (task: TaskRequest) => {
    ready
      .then(() => {
        if (task.kind === 'files') {
          if (!init.ring) throw new Error('file tasks need a worker pool made with seal rings');
          // Sealed blobs are views of the ring, shared with the main thread: posted, not transferred.
          files ??= new FileChunker(
            (plain, compress, slot) => sealIntoSlot(key, plain, compress, slot),
            (parts) => port.postMessage({ kind: 'parts', parts } satisfies TaskPart<'files'>),
            new RingWriter(init.ring),
          );
          files.run(task);
          port.postMessage({ kind: 'filesDone' } satisfies TaskReply<'files'>);
        } else if (task.kind === 'checkPack') {
          packs ??= new PackVerifier(key, (sealed, b) => {
            withOpenedBlob(key, sealed, b.id, b.uncompressedLength, () => {});
          });
          return packs.run(task).then((problems) => port.postMessage({ kind: 'packChecked', problems } satisfies TaskReply<'checkPack'>));
        } else if (task.kind === 'writeFiles') {
          writer ??= new FileWriter(
            (sealed, id, ul, use) => withOpenedBlob(key, sealed, id, ul, use),
            (parts) => port.postMessage({ kind: 'written', parts } satisfies TaskPart<'writeFiles'>),
          );
          writer.run(task);
          port.postMessage({ kind: 'filesDone' } satisfies TaskReply<'writeFiles'>);
        } else if (task.kind === 'seal') {
          const r = sealBlob(key, task.data, task.compress);
          const out = ownBuffer(r.sealed);
          port.postMessage({ kind: 'sealed', sealed: out, uncompressedLength: r.uncompressedLength } satisfies TaskReply<'seal'>, [out.buffer as ArrayBuffer]);
        } else if (task.kind === 'verify') {
          withOpenedBlob(key, task.sealed, task.id, task.uncompressedLength, () => {});
          port.postMessage({ kind: 'verified' } satisfies TaskReply<'verify'>);
        } else {
          const data = openBlobBytes(key, task.sealed, task.id, task.uncompressedLength);
          const out = ownBuffer(data);
          port.postMessage({ kind: 'opened', data: out } satisfies TaskReply<'open'>, [out.buffer as ArrayBuffer]);
        }
      })
      .catch((e: unknown) => {
        port.postMessage(errorReply(e));
      });
  });
}
