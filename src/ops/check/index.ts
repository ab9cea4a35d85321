/**
 * Check module: `lifeboat check` as a service. checkDestinations goes through every repository
 * destination of the coverage map and returns one typed result per destination (checked with
 * its findings, a mirror, a USB drive away, or failed with `{ code, message, hint }`); one
 * destination's failure never stops the next. openDestinationRepository opens a ready
 * destination's repository with errors worded for the coverage map (a missing repository is a
 * lost or never-enrolled backup, never "run repo init").
 *
 * Invariants: nothing is printed or exited here; nothing is written but restic's lock; the
 * password never leaves destinationPassword.
 */
export { checkDestinations, failureCodes, type CheckDestinationsDeps, type CheckDestinationsOptions, type CheckEvent, type DestinationCheck } from './check-destinations.ts';
