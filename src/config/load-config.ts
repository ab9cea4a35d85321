/**
 * The loader: file -> YAML -> schema -> normalise -> validate -> policy, collecting every
 * problem on the way and placing each at its file:line:col.
 *
 * Policy warnings are judged only on a config without problems (a source dropped for a typo
 * would otherwise show up as spurious gaps). The files they ask about are looked up first, so
 * the rules stay synchronous. The config file is only ever read.
 */
import { LifeboatError } from '../core/errors.ts';
import type { Config } from './config.ts';
import { schemaProblems, type PathProblem } from './issues.ts';
import { DEFAULT_STATE_DIR, normalise } from './normalise.ts';
import { parseYaml, type Locate } from './parse.ts';
import { dottedPath, formatProblem, sortProblems, type Problem } from './problem.ts';
import { policyWarnings, type PolicyOptions, type PolicyWarning } from './rules.ts';
import { machineWarnings } from './machine-rules.ts';
import { devicesFrom, lookUpPaths, type StatPath } from './path-facts.ts';
import { isRecord } from './schema.ts';
import { validate, type FileAccess } from './validate.ts';

export const DEFAULT_CONFIG_PATH = '/etc/lifeboat/lifeboat.yaml';

/**
 * What the loader may touch: the config and exclude files, the environment, device ids, and,
 * with `stat`, the paths the config names (source paths, password files, destinations'
 * filesystems), so that what would fail at run time is reported now; without it those are not
 * judged.
 */
export interface ConfigDeps extends FileAccess, PolicyOptions {
  readonly stat?: StatPath;
}

export interface LoadResult {
  /** Best effort; trust it only when `problems` is empty. */
  readonly config: Config;
  /** Every problem, ordered by position. */
  readonly problems: readonly Problem[];
  /** Policy findings; empty while there are problems. */
  readonly warnings: readonly PolicyWarning[];
}

export async function loadConfig(path: string, deps: ConfigDeps): Promise<LoadResult> {
  let text: string;
  try {
    text = await deps.readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException | undefined)?.code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : err instanceof Error ? err.message : String(err);
    const hint = code === 'ENOENT' ? 'create it from the starter config, or point --config or LIFEBOAT_CONFIG at another file' : undefined;
    const problem: Problem = { code: 'UNREADABLE', file: path, line: 0, col: 0, path: '', message: `cannot read the config file: ${why}`, hint };
    return { config: emptyConfig(path), problems: [problem], warnings: [] };
  }
  return parseConfigText(text, path, deps);
}

/** As loadConfig, for text in hand; `fileName` names it in problems. */
export async function parseConfigText(text: string, fileName: string, deps: ConfigDeps): Promise<LoadResult> {
  const yaml = parseYaml(text, fileName);
  if (yaml.problems.length > 0) return { config: emptyConfig(fileName), problems: yaml.problems, warnings: [] };
  const data = yaml.data ?? {};
  if (!isRecord(data)) {
    const problem: Problem = {
      code: 'WRONG_TYPE',
      file: fileName,
      line: 1,
      col: 1,
      path: '',
      message: 'the config must be a map with destinations and sources',
      hint: 'start from the starter config',
    };
    return { config: emptyConfig(fileName), problems: [problem], warnings: [] };
  }

  const problems: Problem[] = [];
  const place = (p: PathProblem): Problem => ({ code: p.code, file: fileName, ...yaml.locate(p.path, p.at), path: dottedPath(p.path), message: p.message, hint: p.hint });
  const report = (p: PathProblem): void => {
    problems.push(place(p));
  };

  schemaProblems(data).forEach(report);
  const config = normalise(data, { file: fileName, report });
  await validate(data, { files: deps, report, reportElsewhere: (p) => problems.push(p) });

  const sorted = sortProblems(dedupe(problems), fileName);
  if (sorted.length > 0) return { config, problems: sorted, warnings: [] };
  // Policy is synchronous; the files it asks about are looked up first, through `exists` and `stat`.
  const identities = [...new Set(config.sources.flatMap((s) => s.age_identity ?? []))];
  const found = new Map(await Promise.all(identities.map(async (p) => [p, await deps.exists(p)] as const)));
  const facts = deps.stat === undefined ? undefined : await lookUpPaths(config, deps.stat);
  const deviceOf = deps.deviceOf ?? (facts && devicesFrom(config, facts));
  const policy = { ...(deviceOf ? { deviceOf } : {}), fileExists: (p: string) => found.get(p) ?? true };
  const warnings = [...policyWarnings(config, policy), ...(facts ? machineWarnings(config, facts) : [])];
  return { config, problems: sorted, warnings: warnings.map((w) => locateWarning(w, fileName, yaml.locate)) };
}

/**
 * loadConfig, throwing LifeboatError BAD_CONFIG that lists every problem, one a line, as
 * `file:line:col: path: message (hint)`. Policy warnings, even level error, do not throw.
 */
export async function loadConfigOrThrow(path: string, deps: ConfigDeps): Promise<{ config: Config; warnings: readonly PolicyWarning[] }> {
  const { config, problems, warnings } = await loadConfig(path, deps);
  if (problems.length > 0) throw configError(path, problems);
  return { config, warnings };
}

export function configError(path: string, problems: readonly Problem[]): LifeboatError {
  const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
  return new LifeboatError('BAD_CONFIG', `Cannot use config ${path}: ${count}\n${problems.map(formatProblem).join('\n')}`);
}

function locateWarning(w: PolicyWarning, file: string, locate: Locate): PolicyWarning {
  return { ...w, location: { file, ...locate(w.path.split('.'), 'value') } };
}

/** One problem per place and message: a value can fail the schema and a cross-check alike. */
function dedupe(problems: readonly Problem[]): Problem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.file}:${p.line}:${p.col}:${p.path}:${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function emptyConfig(file: string): Config {
  return { file, state_dir: DEFAULT_STATE_DIR, hostname: undefined, destinations: [], sources: [] };
}
