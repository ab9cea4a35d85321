/** One destination's failure in a command that goes over every destination: the error line of fail(), named. */
import type { ErrorInfo } from '../core/errors.ts';

export function writeDestinationFailure(destination: string, e: ErrorInfo): void {
  process.stderr.write(`lifeboat: ${destination}: ${e.message} [${e.code}]\n${e.hint ? `  hint: ${e.hint}\n` : ''}`);
}
