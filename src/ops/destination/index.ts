/**
 * A configured destination, opened: its password (destination-password.ts) and its repository
 * with the operator's words for what can go wrong there (open-repository.ts): a lost repository
 * is a lost backup, never "create one with repo init"; a marker or repository id that is not the
 * enrolled one is refused by name; a wrong password points at the destination's secret. Every
 * service that reads a destination's repository (check, restore, forget, snapshots, drill,
 * status) opens it here; `run` writes and checks the enrolment itself (jobs/run-coverage.ts).
 */
export { destinationPassword, repositoryPassword } from './destination-password.ts';
export { openDestinationRepository, unavailableIsFailure, type OpenRepositoryOptions, type ReadyPlace, type RepositoryDestination } from './open-repository.ts';
