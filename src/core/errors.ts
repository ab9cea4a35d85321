/**
 * Typed errors of the engine. Every condition an operator can meet has a stable code; the CLI
 * maps codes to exit codes in one place (src/cli/exit-codes.ts). Messages speak in one voice:
 * "Cannot <do what> <where>: <why>".
 */
export type ErrorCode =
  | 'NO_REPOSITORY'
  | 'REPO_EXISTS'
  | 'REPO_LOCKED'
  | 'WRONG_PASSWORD'
  | 'NO_PASSWORD'
  | 'BAD_CONFIG'
  | 'INTEGRITY'
  | 'MALFORMED'
  | 'NOT_FOUND'
  | 'AMBIGUOUS'
  | 'NO_SPACE'
  | 'IO'
  | 'USAGE'
  | 'UNSAFE_PATH'
  | 'INTERRUPTED'
  /** A destination is absent, not mounted, or not the enrolled drive: nothing was written. */
  | 'DEVICE_UNAVAILABLE'
  /** A source cannot be read as configured (an empty mount, a missing path). */
  | 'SOURCE_UNAVAILABLE'
  /** A rule of the coverage map forbids the operation (e.g. sensitive data to a mirror). */
  | 'POLICY_REFUSED'
  /** A source's command (a database dump) or a hook failed. */
  | 'HOOK_FAILED'
  /** A storage backend failed (a connection, a server); `transient` says whether trying again may help. */
  | 'BACKEND'
  /** A bug: something that should not happen did. */
  | 'INTERNAL';

const CODES: ReadonlySet<string> = new Set<ErrorCode>([
  'NO_REPOSITORY', 'REPO_EXISTS', 'REPO_LOCKED', 'WRONG_PASSWORD', 'NO_PASSWORD', 'BAD_CONFIG', 'INTEGRITY', 'MALFORMED', 'NOT_FOUND',
  'AMBIGUOUS', 'NO_SPACE', 'IO', 'USAGE', 'UNSAFE_PATH', 'INTERRUPTED', 'DEVICE_UNAVAILABLE', 'SOURCE_UNAVAILABLE', 'POLICY_REFUSED', 'HOOK_FAILED', 'BACKEND', 'INTERNAL',
]);

export function isErrorCode(s: unknown): s is ErrorCode {
  return typeof s === 'string' && CODES.has(s);
}

export class LifeboatError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  /** For BACKEND errors: a retry may succeed (a timeout, a dropped connection, a busy server). */
  readonly transient: boolean;
  constructor(code: ErrorCode, message: string, opts: { hint?: string; cause?: unknown; transient?: boolean } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'LifeboatError';
    this.code = code;
    this.hint = opts.hint;
    this.transient = opts.transient ?? false;
  }
}

/** Data that failed a hash, MAC or structural check. */
export function integrityError(message: string, cause?: unknown): LifeboatError {
  return new LifeboatError('INTEGRITY', message, { cause });
}

/** Bytes that do not parse as the structure they claim to be. */
export function malformedError(message: string, cause?: unknown): LifeboatError {
  return new LifeboatError('MALFORMED', message, { cause });
}

/** Maps low-level filesystem errors to stable codes (ENOSPC -> NO_SPACE, ...). */
export function fromSystemError(err: unknown, what: string): LifeboatError {
  if (err instanceof LifeboatError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new LifeboatError('NO_SPACE', `Cannot ${what}: no space left on device`, {
      cause: err,
      hint: 'free space on the destination, then run again; the repository is still valid',
    });
  }
  if (code === 'ENOENT') return new LifeboatError('NOT_FOUND', `Cannot ${what}: not found`, { cause: err });
  const msg = err instanceof Error ? err.message : String(err);
  return new LifeboatError('IO', `Cannot ${what}: ${msg}`, { cause: err });
}

/** An error as data, for results and the state store: the code survives where the object does not. */
export interface ErrorInfo {
  readonly code: ErrorCode;
  readonly message: string;
  readonly hint?: string | undefined;
}

/** Any thrown value as ErrorInfo: a LifeboatError keeps its code, an abort is INTERRUPTED, the rest INTERNAL. */
export function errorInfo(e: unknown): ErrorInfo {
  if (e instanceof LifeboatError) return { code: e.code, message: e.message, ...(e.hint ? { hint: e.hint } : {}) };
  if ((e as Error | undefined)?.name === 'AbortError') return { code: 'INTERRUPTED', message: 'interrupted' };
  const sys = (e as NodeJS.ErrnoException | undefined)?.code;
  if (typeof sys === 'string' && /^E[A-Z]+$/.test(sys)) return errorInfo(fromSystemError(e, 'complete the operation'));
  return { code: 'INTERNAL', message: (e as Error | undefined)?.message ?? String(e) };
}
