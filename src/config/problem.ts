/**
 * What is wrong with a config file, said once per problem, at the place it is wrong.
 *
 * A problem names the file, the 1-based line and column, the dotted YAML path
 * (`sources.postgres.frequency`, list items by index: `sources.media.paths.0`), a message and,
 * where one helps, a hint. Problems are values: the loader collects every one of them and only
 * the throwing variant turns them into a LifeboatError.
 */

export type ProblemCode =
  /** The file could not be read at all. */
  | 'UNREADABLE'
  /** YAML that does not parse (bad indentation, duplicate key, unclosed quote...). */
  | 'YAML_SYNTAX'
  | 'UNKNOWN_KEY'
  | 'MISSING_FIELD'
  | 'WRONG_TYPE'
  /** Right type, wrong value: not one of the choices, out of range, not absolute... */
  | 'BAD_VALUE'
  /** A source or destination name outside [a-z0-9][a-z0-9-_]*. */
  | 'BAD_NAME'
  | 'UNKNOWN_DESTINATION'
  | 'BAD_FREQUENCY'
  | 'BAD_DURATION'
  | 'BAD_PATTERN'
  | 'MISSING_EXCLUDE_FILE'
  /** Keys that exclude each other or require each other (paths and command, password_file...). */
  | 'CONFLICT';

export interface Problem {
  readonly code: ProblemCode;
  readonly file: string;
  /** 1-based; 0 when the problem is about the file as a whole (it could not be read). */
  readonly line: number;
  /** 1-based; 0 with line 0. */
  readonly col: number;
  /** Dotted YAML path; '' for the document itself. */
  readonly path: string;
  readonly message: string;
  readonly hint: string | undefined;
}

/** `file:line:col: path: message (hint)`, leaving out the parts a problem does not have. */
export function formatProblem(p: Problem): string {
  const where = p.line > 0 ? `${p.file}:${p.line}:${p.col}` : p.file;
  const path = p.path === '' ? '' : `${p.path}: `;
  const hint = p.hint === undefined ? '' : ` (${p.hint})`;
  return `${where}: ${path}${p.message}${hint}`;
}

export type PathSegment = string | number;

/** `['sources', 'media', 'paths', 0]` -> `sources.media.paths.0`. */
export function dottedPath(path: readonly PathSegment[]): string {
  return path.map(String).join('.');
}

/** Orders problems the way a reader meets them: by file (the config first), line, column. */
export function sortProblems(problems: readonly Problem[], mainFile: string): Problem[] {
  return problems
    .map((p, i) => ({ p, i }))
    .sort((a, b) => {
      const fa = a.p.file === mainFile ? 0 : 1;
      const fb = b.p.file === mainFile ? 0 : 1;
      return fa - fb || (fa === 1 ? 0 : a.p.line - b.p.line || a.p.col - b.p.col) || a.i - b.i;
    })
    .map(({ p }) => p);
}
