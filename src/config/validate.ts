/**
 * Checks that look beyond one entry: every destination a source names is defined, and every
 * exclude file exists and holds only valid patterns.
 *
 * Runs on the plain data, not on the Config, so a source that is broken elsewhere (say, a bad
 * priority) still has its destination names and exclude files checked: every problem at once.
 * The filesystem is reached only through the injected `exists` and `readFile`. Exclude files
 * are read as restic reads them (trimmed lines, '#' comments, $VAR from `env`), and a bad
 * pattern is reported at its own file and line.
 */
import { expandEnv, patternProblem, type Env } from '../core/filter/index.ts';
import type { PathProblem } from './issues.ts';
import type { PathSegment, Problem } from './problem.ts';
import { dottedPath } from './problem.ts';
import { isRecord } from './schema.ts';
import { closest } from './suggest.ts';

export interface FileAccess {
  /** Whether a file exists (exclude files). */
  readonly exists: (path: string) => Promise<boolean> | boolean;
  readonly readFile: (path: string) => Promise<string>;
  /** For $VAR in exclude files, as restic expands them. */
  readonly env: Env;
}

export interface Reporters {
  /** A problem at a place in the config file. */
  readonly report: (problem: PathProblem) => void;
  /** A problem at a place in another file (an exclude file). */
  readonly reportElsewhere: (problem: Problem) => void;
}

export async function validate(data: Record<string, unknown>, options: { readonly files: FileAccess } & Reporters): Promise<void> {
  const { files: fs, ...out } = options;
  const declared = isRecord(data.destinations) ? Object.keys(data.destinations) : [];
  // Each reference to a missing file is a problem where it is written; contents are read once.
  const existence = new Map<string, Promise<boolean>>();
  const contentsChecked = new Set<string>();
  const pending: Promise<void>[] = [];
  for (const [name, raw] of isRecord(data.sources) ? Object.entries(data.sources) : []) {
    if (!isRecord(raw)) continue;
    checkDestinationNames(['sources', name, 'destinations'], raw.destinations, declared, out.report);
    for (const [path, file] of excludeFiles(['sources', name, 'exclude_from'], raw.exclude_from)) {
      const exists = existence.get(file) ?? Promise.resolve(fs.exists(file));
      existence.set(file, exists);
      pending.push(
        exists.then(async (found) => {
          if (!found) {
            out.report({
              code: 'MISSING_EXCLUDE_FILE',
              path,
              at: 'value',
              message: `exclude file ${file} does not exist`,
              hint: 'create it with one restic pattern a line, or remove it from exclude_from',
            });
          } else if (!contentsChecked.has(file)) {
            contentsChecked.add(file);
            await checkExcludeContents(path, file, fs, out);
          }
        }),
      );
    }
  }
  await Promise.all(pending);
}

function checkDestinationNames(path: PathSegment[], list: unknown, declared: readonly string[], report: Reporters['report']): void {
  if (!Array.isArray(list)) return;
  const seen = new Set<string>();
  list.forEach((item, i) => {
    if (typeof item !== 'string') return;
    if (seen.has(item)) {
      report({ code: 'BAD_VALUE', path: [...path, i], at: 'value', message: `destination "${item}" is listed twice`, hint: 'remove the repeat' });
    }
    seen.add(item);
    if (declared.includes(item)) return;
    const near = closest(item, declared);
    const known = declared.length === 0 ? 'no destinations are defined yet' : `known: ${declared.join(', ')}`;
    report({
      code: 'UNKNOWN_DESTINATION',
      path: [...path, i],
      at: 'value',
      message: `unknown destination "${item}"`,
      hint: near === undefined ? known : `did you mean "${near}"? ${known}`,
    });
  });
}

/** The absolute exclude-file paths of an `exclude_from` value, with where each sits. */
function excludeFiles(path: PathSegment[], value: unknown): [PathSegment[], string][] {
  if (typeof value === 'string') return value.startsWith('/') ? [[path, value]] : [];
  if (!Array.isArray(value)) return [];
  return value.flatMap((item, i): [PathSegment[], string][] => (typeof item === 'string' && item.startsWith('/') ? [[[...path, i], item]] : []));
}

async function checkExcludeContents(path: PathSegment[], file: string, fs: FileAccess, out: Reporters): Promise<void> {
  let text: string;
  try {
    text = await fs.readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException | undefined)?.code;
    const why = code === 'EACCES' ? 'permission denied' : err instanceof Error ? err.message : String(err);
    out.report({ code: 'UNREADABLE', path, at: 'value', message: `cannot read exclude file ${file}: ${why}`, hint: undefined });
    return;
  }
  text
    .replace(/^\uFEFF/, '')
    .split('\n')
    .forEach((raw, index) => {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) return;
      const pattern = expandEnv(line, fs.env);
      const problem = pattern === '' ? undefined : patternProblem(pattern);
      if (problem === undefined) return;
      const shown = pattern === line ? `"${line}"` : `"${line}" (expanded to "${pattern}")`;
      out.reportElsewhere({
        code: 'BAD_PATTERN',
        file,
        line: index + 1,
        col: raw.indexOf(line.charAt(0)) + 1,
        path: dottedPath(path),
        message: `invalid exclude pattern ${shown}: ${problem}`,
        hint: "escape a literal '[', ']', '*', '?' or '\\' with a backslash",
      });
    });
}
