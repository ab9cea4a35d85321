/** The benchmark's one error class: a stable code, a message in one voice, and a hint. */
export type BenchErrorCode = 'USAGE' | 'PREREQUISITE' | 'DATASET' | 'COMMAND' | 'BUSY' | 'INTERRUPTED';

export class BenchError extends Error {
  readonly code: BenchErrorCode;
  readonly hint: string | undefined;
  constructor(code: BenchErrorCode, message: string, opts: { hint?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'BenchError';
    this.code = code;
    this.hint = opts.hint;
  }
}
