/** The one place where error codes become process exit codes (as modern restic). */
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
