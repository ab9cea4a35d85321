/**
 * config: lifeboat.yaml, the coverage map (which data sources exist, which destinations their
 * copies go to, how often), read into a normalised, fully defaulted, readonly Config.
 *
 * Algorithm: parse -> normalise -> validate -> policy.
 * - parse (parse.ts, schema.ts, issues.ts): YAML 1.2 with positions, then a strict zod schema
 *   per field; each zod issue becomes a problem at its key or value, in the house voice, with a
 *   "did you mean" where a near key, kind, priority or destination name exists.
 * - normalise (normalise.ts): defaults and alternatives resolved (exclude_from is a list, a
 *   string command is `/bin/sh -c`, usb mountpoint defaults to /mnt/lifeboat/<label>, each
 *   destination's `root` computed); rules spanning two keys of one entry reported.
 * - validate (validate.ts): destination names exist, exclude files exist (injected `exists`)
 *   and hold valid patterns.
 * - policy (rules.ts): warnings with stable codes on a valid config (two independent
 *   destinations for critical/high sources, no sensitive data on mirrors, unused destinations,
 *   overlapping sources, an age identity file that is not there).
 * load-config.ts runs the steps; config.ts defines the Config; problem.ts the Problem and its
 * one-line form; suggest.ts the "did you mean". Frequencies, OnCalendar expressions and
 * durations: calendar.ts. The starter file: starter.ts.
 *
 * Invariants:
 * - Every problem is reported at once, each with file:line:col, dotted YAML path, message and
 *   hint where one helps; nothing stops at the first.
 * - The config file is only read, never written. Nothing here prints, exits or reads
 *   process.env: the environment and the filesystem come in as parameters.
 * - The JSON Schema (configJsonSchema) is derived from the same zod schema the loader uses.
 */
export { DEFAULT_CONFIG_PATH, configError, loadConfig, loadConfigOrThrow, parseConfigText } from './load-config.ts';
export type { ConfigDeps, LoadResult } from './load-config.ts';
export type {
  Command,
  CommandSource,
  Config,
  Destination,
  LocalPlace,
  MirrorFormat,
  NasPlace,
  PasswordSource,
  PathsSource,
  Priority,
  RepositoryFormat,
  Retention,
  Source,
  UsbPlace,
} from './config.ts';
export { formatProblem } from './problem.ts';
export type { Problem, ProblemCode } from './problem.ts';
export { formatWarning, policyWarnings, sameDevice } from './rules.ts';
export type { PolicyCode, PolicyOptions, PolicyWarning } from './rules.ts';
export { NAMED_INTERVALS, nominalIntervalSeconds, parseCalendar, parseDuration, parseFrequency } from './calendar.ts';
export type { CalendarSpec, Duration, Frequency, NamedFrequency, Parsed } from './calendar.ts';
export { configJsonSchema } from './schema.ts';
export { STARTER_PROBES, starterConfig } from './starter.ts';
export type { FoundPath } from './starter.ts';
export { DEFAULT_STATE_DIR } from './normalise.ts';
export { closest, didYouMean } from './suggest.ts';
