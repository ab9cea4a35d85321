/**
 * zod issues -> problems in the house voice, each at the key or value it is about.
 *
 * zod says "Invalid input: expected array, received string"; an operator wants
 * "expected a list, got the string "/etc/nixos" (write a list: [/etc/nixos])". This file is
 * that translation, plus the parts zod cannot know: which key was probably meant, which
 * destination kind a stray key belongs to, and what a missing field is for. A failed union is
 * explained through the option whose type matched, so `exclude_from: relative/x` reads as "must
 * be an absolute path", not as "no union member matched".
 */
import type { z } from 'zod';
import type { PathSegment, ProblemCode } from './problem.ts';
import {
  ConfigFileSchema,
  DESTINATION_KINDS,
  DestinationSchema,
  FORMAT_MESSAGES,
  NAME_PATTERN,
  PRIORITIES,
  SourceSchema,
  destinationShape,
  isRecord,
  kindsWithKey,
  knownKeysAt,
  type CheckParams,
} from './schema.ts';
import { closest, didYouMean } from './suggest.ts';

type Issue = z.core.$ZodIssue;

/** A problem before it has a file position: where (path, key or value), what, and a hint. */
export interface PathProblem {
  readonly code: ProblemCode;
  readonly path: readonly PathSegment[];
  readonly at: 'key' | 'value';
  readonly message: string;
  readonly hint: string | undefined;
}

const MISSING_HINTS: Readonly<Record<string, string>> = {
  priority: `one of ${PRIORITIES.join(', ')}`,
  frequency: 'hourly, daily, weekly, monthly, manual or an OnCalendar expression',
  destinations: 'list the destinations this goes to, e.g. [usb-media, nas]',
  path: 'the absolute directory that holds the repository or mirror',
  kind: `one of ${DESTINATION_KINDS.join(', ')}`,
  sources: 'a map of source names to settings; {} for none yet',
};

/**
 * Every schema problem of the whole file. zod does not look inside an entry whose name is
 * invalid, so such entries are checked on their own as well.
 */
export function schemaProblems(data: unknown): PathProblem[] {
  const parsed = ConfigFileSchema.safeParse(data, { reportInput: true });
  const out = parsed.success ? [] : parsed.error.issues.flatMap((issue) => fromIssue(issue, [], data));
  for (const [section, schema] of [
    ['sources', SourceSchema],
    ['destinations', DestinationSchema],
  ] as const) {
    const map = isRecord(data) ? data[section] : undefined;
    if (!isRecord(map)) continue;
    for (const [name, value] of Object.entries(map)) {
      if (NAME_PATTERN.test(name)) continue;
      const entry = schema.safeParse(value, { reportInput: true });
      if (!entry.success) out.push(...entry.error.issues.flatMap((issue) => fromIssue(issue, [section, name], data)));
    }
  }
  return out;
}

function fromIssue(issue: Issue, prefix: readonly PathSegment[], data: unknown): PathProblem[] {
  const path: PathSegment[] = [...prefix, ...issue.path.map((s) => (typeof s === 'number' ? s : String(s)))];
  const present = valueAt(data, path);
  const problem = (code: ProblemCode, message: string, hint?: string, at: 'key' | 'value' = 'value'): PathProblem[] => [
    { code, path, at, message, hint },
  ];
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => ({
        code: 'UNKNOWN_KEY',
        path: [...path, key],
        at: 'key',
        message: `unknown key "${key}"`,
        hint: unknownKeyHint(key, path, data),
      }));
    case 'invalid_type':
      if (!present.found) return missing(path);
      return problem('WRONG_TYPE', `expected ${expectedText(issue.expected)}, got ${describe(present.value)}`, typeHint(issue.expected, present.value));
    case 'invalid_value': {
      if (!present.found) return missing(path, `one of ${issue.values.join(', ')}`);
      const words = issue.values.map(String);
      const near = typeof present.value === 'string' ? didYouMean(present.value, words) : undefined;
      return problem('BAD_VALUE', `expected one of ${words.join(', ')}; got ${describe(present.value)}`, near);
    }
    case 'too_small':
      if (issue.origin === 'array' || issue.origin === 'string') return problem('BAD_VALUE', 'must not be empty');
      return problem('BAD_VALUE', `must be at least ${String(issue.minimum)}; got ${describe(present.value)}`);
    case 'too_big':
      return problem('BAD_VALUE', `must be at most ${String(issue.maximum)}; got ${describe(present.value)}`);
    case 'invalid_format': {
      const known = issue.pattern === undefined ? undefined : FORMAT_MESSAGES.get(issue.pattern);
      return problem('BAD_VALUE', `${describe(present.value)} ${known?.message ?? 'is malformed'}`, known?.hint);
    }
    case 'invalid_key': {
      const key = String(path[path.length - 1] ?? '');
      return problem('BAD_NAME', `"${key}" is not a valid name`, nameHint(key), 'key');
    }
    case 'invalid_union':
      return fromUnion(issue, path, present, data);
    case 'custom': {
      const params = issue.params as Partial<CheckParams> | undefined;
      return problem(params?.code ?? 'BAD_VALUE', issue.message, params?.hint);
    }
    default:
      return problem('BAD_VALUE', issue.message);
  }
}

function fromUnion(issue: Extract<Issue, { code: 'invalid_union' }>, path: PathSegment[], present: Lookup, data: unknown): PathProblem[] {
  if (issue.discriminator !== undefined) {
    // zod puts the discriminator on the path: destinations.<name>.kind
    const owner = valueAt(data, path.slice(0, -1));
    if (!owner.found || !isRecord(owner.value)) {
      return [{ code: 'WRONG_TYPE', path: path.slice(0, -1), at: 'value', message: `expected a map, got ${describe(owner.value)}`, hint: undefined }];
    }
    if (!present.found) return missing(path);
    const kinds = DESTINATION_KINDS as readonly string[];
    const near = typeof present.value === 'string' ? closest(present.value, kinds) : undefined;
    return [
      {
        code: 'BAD_VALUE',
        path,
        at: 'value',
        message: `unknown destination kind ${describe(present.value)}`,
        hint: near !== undefined ? `did you mean "${near}"?` : `one of ${kinds.join(', ')}`,
      },
    ];
  }
  if (!present.found) return missing(path);
  // The option whose own type matched (its errors are not one root type mismatch) explains best.
  const typed = issue.errors.find((errs) => !(errs.length === 1 && errs[0]?.code === 'invalid_type' && errs[0].path.length === 0));
  if (typed !== undefined) return typed.flatMap((inner) => fromIssue(inner, path, data));
  const expected = issue.errors.map((errs) => (errs[0]?.code === 'invalid_type' ? expectedText(errs[0].expected) : 'something else'));
  const first = issue.errors[0]?.[0];
  const hint = first?.code === 'invalid_type' ? typeHint(first.expected, present.value) : undefined;
  return [{ code: 'WRONG_TYPE', path, at: 'value', message: `expected ${expected.join(' or ')}, got ${describe(present.value)}`, hint }];
}

function missing(path: PathSegment[], hint?: string): PathProblem[] {
  const key = String(path[path.length - 1] ?? '');
  return [{ code: 'MISSING_FIELD', path, at: 'key', message: 'missing required field', hint: hint ?? MISSING_HINTS[key] }];
}

function unknownKeyHint(key: string, mapPath: readonly PathSegment[], data: unknown): string | undefined {
  const known = knownKeysAt(mapPath, data) ?? [];
  const near = closest(key, known);
  if (near !== undefined) return `did you mean "${near}"?`;
  if (mapPath[0] === 'destinations' && mapPath.length === 2) {
    const kinds = kindsWithKey(key);
    if (kinds.length > 0) return `"${key}" is for ${kinds.join(' and ')} destinations`;
  }
  if (mapPath[0] === 'sources' && mapPath.length === 2 && DESTINATION_KINDS.some((k) => key in destinationShape(k))) {
    return `"${key}" belongs to a destination, not a source`;
  }
  return known.length > 0 ? `known keys: ${known.join(', ')}` : undefined;
}

function nameHint(key: string): string {
  const fixed = key
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^[-_]+/, '');
  const rule = FORMAT_MESSAGES.get(String(NAME_PATTERN))?.hint ?? '';
  return NAME_PATTERN.test(fixed) && fixed !== key ? `${rule}, e.g. "${fixed}"` : rule;
}

const EXPECTED: Readonly<Record<string, string>> = {
  string: 'a string',
  array: 'a list',
  object: 'a map',
  record: 'a map',
  boolean: 'true or false',
  number: 'a number',
  int: 'a whole number',
};

function expectedText(expected: string): string {
  return EXPECTED[expected] ?? expected;
}

function typeHint(expected: string, value: unknown): string | undefined {
  if (value === null) return 'write a value after the colon, or remove the key';
  if (expected === 'array' && (typeof value === 'string' || typeof value === 'number')) return `write a list: [${String(value)}]`;
  if (expected === 'boolean' && typeof value === 'string') return 'write true or false; YAML 1.2 reads yes, no, on and off as strings';
  if (expected === 'string' && (typeof value === 'number' || typeof value === 'boolean')) return `quote it: "${String(value)}"`;
  if ((expected === 'int' || expected === 'number') && typeof value === 'string' && /^\d+$/.test(value)) return 'write the number without quotes';
  return undefined;
}

/** How a value reads in a message. */
export function describe(value: unknown): string {
  if (value === null || value === undefined) return 'an empty value';
  if (typeof value === 'string') return `"${value.length > 60 ? `${value.slice(0, 57)}...` : value}"`;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return 'a list';
  return 'a map';
}

type Lookup = { readonly found: true; readonly value: unknown } | { readonly found: false; readonly value?: undefined };

function valueAt(data: unknown, path: readonly PathSegment[]): Lookup {
  let node: unknown = data;
  for (const segment of path) {
    if (Array.isArray(node) && typeof segment === 'number' && segment < node.length) node = node[segment];
    else if (isRecord(node) && Object.hasOwn(node, String(segment))) node = node[String(segment)];
    else return { found: false };
  }
  return { found: true, value: node };
}
