/**
 * Errors across the worker boundary. A worker's failure travels as plain data (structured
 * clone keeps no class), so the code an operator acts on (NO_SPACE on a full drive, INTEGRITY of
 * a damaged pack) is put into the reply on the worker's side and a LifeboatError with the same
 * code and hint is rebuilt on the main thread. errno failures (ENOSPC, EIO) become the engine's
 * codes in the worker, where the system error is still at hand.
 */
import { LifeboatError, fromSystemError, isErrorCode } from '../errors.ts';

export interface ErrorReply {
  readonly kind: 'error';
  readonly name: string;
  readonly message: string;
  readonly code: string | undefined;
  readonly hint?: string | undefined;
}

/** The reply a worker posts for a task that failed. */
export function errorReply(e: unknown): ErrorReply {
  const err = e as (Error & { code?: unknown; hint?: string }) | undefined;
  const lb = typeof err?.code === 'string' && /^E[A-Z]+$/.test(err.code) ? fromSystemError(err, 'complete a worker task') : err;
  const code = typeof lb?.code === 'string' ? lb.code : undefined;
  return { kind: 'error', name: lb?.name ?? 'Error', message: lb?.message ?? String(e), code, ...(lb?.hint ? { hint: lb.hint } : {}) };
}

/** The main thread's error for a worker's reply: a LifeboatError whenever the code is one of ours. */
export function reviveError(r: ErrorReply): Error {
  if (isErrorCode(r.code)) return new LifeboatError(r.code, r.message, r.hint ? { hint: r.hint } : {});
  const e = new Error(r.message);
  e.name = r.name;
  return e;
}
