/** The one place where error codes and run outcomes become process exit codes (as modern restic). */
import type { ErrorCode } from '../core/errors.ts';

export const EXIT = {
  OK: 0,
  ERROR: 1,
  USAGE: 2,
  PARTIAL: 3,
  NO_REPOSITORY: 10,
  LOCKED: 11,
  WRONG_PASSWORD: 12,
  /** A destination (drive, share) is absent, not mounted or not the enrolled one. */
  UNAVAILABLE: 13,
  INTERRUPTED: 130,
} as const;

export function exitCodeFor(code: ErrorCode | undefined): number {
  switch (code) {
    case 'NO_REPOSITORY':
      return EXIT.NO_REPOSITORY;
    case 'REPO_LOCKED':
      return EXIT.LOCKED;
    case 'WRONG_PASSWORD':
      return EXIT.WRONG_PASSWORD;
    case 'USAGE':
    case 'NO_PASSWORD':
      return EXIT.USAGE;
    case 'DEVICE_UNAVAILABLE':
      return EXIT.UNAVAILABLE;
    case 'INTERRUPTED':
      return EXIT.INTERRUPTED;
    default:
      return EXIT.ERROR;
  }
}

/**
 * One exit code for a command that went through several destinations and collected an error
 * code for each that failed: 0 for none, an interruption wins (130), else the failures' own
 * code when they all share one (every missing repository: 10), else 1.
 */
export function exitCodeForAll(codes: readonly ErrorCode[]): number {
  if (codes.length === 0) return EXIT.OK;
  if (codes.includes('INTERRUPTED')) return EXIT.INTERRUPTED;
  const exits = new Set(codes.map(exitCodeFor));
  return exits.size === 1 ? [...exits][0]! : EXIT.ERROR;
}

/**
 * The exit code of a run (`run`, and `usb` per drive) from its cells, first rule that applies:
 *  1. a cell was interrupted (SIGINT/SIGTERM): 130;
 *  2. cells failed: when every failure has the same error code, that code's exit code (12 wrong
 *     password, 13 destination unavailable, 11 locked, ...), so a script can act on it; failures
 *     with different codes: 1 (each cell's code is in its line and in `--json`);
 *  3. a cell could not read some files: 3;
 *  4. nothing was backed up and a cell was skipped because its drive is absent (every due cell
 *     skipped): 13; an absent drive beside a cell that did run is no error;
 *  5. otherwise 0, also when no cell was due.
 */
export function runExitCode(cells: readonly { readonly outcome: string; readonly code?: ErrorCode | undefined }[]): number {
  if (cells.some((c) => c.outcome === 'interrupted')) return EXIT.INTERRUPTED;
  const failures = cells.filter((c) => c.outcome === 'failed').map((c) => c.code ?? 'INTERNAL');
  if (failures.length > 0) return exitCodeForAll(failures);
  if (cells.some((c) => c.outcome === 'partial')) return EXIT.PARTIAL;
  if (!cells.some((c) => c.outcome === 'success') && cells.some((c) => c.outcome === 'absent')) return EXIT.UNAVAILABLE;
  return EXIT.OK;
}

/** Two exit codes as one (several drives in `usb`): interrupted wins, then the same code, then the non-zero one, else 1. */
export function combineExitCodes(a: number, b: number): number {
  if (a === EXIT.INTERRUPTED || b === EXIT.INTERRUPTED) return EXIT.INTERRUPTED;
  if (a === b || b === EXIT.OK) return a;
  if (a === EXIT.OK) return b;
  return EXIT.ERROR;
}
