/**
 * The storage seam: where a repository's files live. backend.ts is the contract (with
 * backend-conformance.ts, the suite every backend joins), layout.ts restic's directory layout,
 * location.ts restic's location strings, open-backend.ts the registry from a location to a
 * backend. Backends: local (a directory), memory (tests); wrappers: retry of transient
 * failures, a connection limit.
 */
export type { Backend, FileInfo, FileType, SaveStream } from './backend.ts';
export { LocalBackend } from './local-backend.ts';
export { MemoryBackend } from './memory-backend.ts';
export { RetryBackend, isTransient, type RetryOptions } from './retry-backend.ts';
export { LimitBackend } from './limit-backend.ts';
export { parseLocation, redact, type Location, type Scheme } from './location.ts';
export { DEFAULT_BACKENDS, openBackend, type BackendFactory, type BackendRegistry, type OpenBackendOptions } from './open-backend.ts';
export { DATA_SUBDIRS, TYPE_DIRS, layoutDir, layoutPath } from './layout.ts';
