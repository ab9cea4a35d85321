/**
 * YAML text -> plain data, keeping the way back from a data path to a line and column.
 *
 * yaml's parseDocument with a LineCounter gives every node its offset; `locate` walks the
 * document by the same path the schema reports (`['sources', 'pg', 'frequency']`) and returns
 * the key's or the value's position. A path that does not exist (a missing field) lands on the
 * deepest part that does, usually the entry's own key line, which is where the field belongs.
 *
 * YAML 1.2 core schema, so `yes`/`on` are strings and `02:00` is not sexagesimal. Merge keys
 * (`<<: *defaults`) are allowed; aliases are capped by yaml's own limit. Syntax errors make
 * the data untrustworthy, so with any of them `data` is undefined and only they are reported.
 */
import { LineCounter, isAlias, isCollection, isMap, isScalar, isSeq, parseDocument, type Document, type Node } from 'yaml';
import type { PathSegment, Problem } from './problem.ts';

export interface Position {
  readonly line: number;
  readonly col: number;
}

/** Finds where a data path sits in the file: at its key (default) or at its value. */
export type Locate = (path: readonly PathSegment[], at?: 'key' | 'value') => Position;

export interface YamlFile {
  /** The document as plain data; undefined when the YAML has syntax problems. */
  readonly data: unknown;
  readonly problems: readonly Problem[];
  readonly locate: Locate;
}

const SYNTAX_HINTS: Readonly<Record<string, string>> = {
  TAB_AS_INDENT: 'indent with spaces, not tabs',
  DUPLICATE_KEY: 'each key may appear once in a map; merge the two entries',
  BAD_INDENT: 'items of one map or list must start in the same column',
  MISSING_CHAR: 'close the quote or bracket',
  MULTIPLE_DOCS: 'keep the whole config in one YAML document, without a second ---',
  TAG_RESOLVE_FAILED: 'remove the !tag; the config uses plain YAML values',
  BLOCK_AS_IMPLICIT_KEY: 'check the indentation of this line and the one above',
  MULTILINE_IMPLICIT_KEY: 'check the indentation here, and for a missing colon on the line above',
};

export function parseYaml(text: string, file: string): YamlFile {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, merge: true, prettyErrors: false, uniqueKeys: true });
  const position = (offset: number): Position => {
    const p = lineCounter.linePos(offset);
    return { line: Math.max(1, p.line), col: Math.max(1, p.col) };
  };
  const locate = makeLocate(doc, position);
  const problems: Problem[] = [];
  for (const e of [...doc.errors, ...doc.warnings]) {
    const { line, col } = position(e.pos[0]);
    // One mistake often trips several checks on the same line; the first says it best.
    if (problems.some((p) => p.line === line)) continue;
    problems.push({ code: 'YAML_SYNTAX', file, line, col, path: '', message: firstLine(e.message), hint: SYNTAX_HINTS[e.code] });
  }
  if (problems.length > 0) return { data: undefined, problems, locate };
  try {
    return { data: doc.toJS(), problems, locate };
  } catch (err) {
    // yaml refuses alias bombs here (maxAliasCount).
    const message = err instanceof Error ? err.message : String(err);
    return { data: undefined, problems: [{ code: 'YAML_SYNTAX', file, line: 1, col: 1, path: '', message, hint: undefined }], locate };
  }
}

function firstLine(message: string): string {
  const line = message.split('\n')[0] ?? message;
  return line.replace(/ at line \d+, column \d+:?$/, '');
}

function makeLocate(doc: Document, position: (offset: number) => Position): Locate {
  return (path, at = 'key') => {
    let node: unknown = doc.contents;
    let keyNode: Node | undefined;
    let valueNode: Node | undefined = isNode(node) ? node : undefined;
    let matched = 0;
    for (const segment of path) {
      node = resolve(doc, node);
      const index = typeof segment === 'number' ? segment : /^\d+$/.test(segment) ? Number(segment) : undefined;
      const found = isMap(node) ? findPair(doc, node, String(segment), 0) : isSeq(node) && index !== undefined ? seqItem(node, index) : undefined;
      if (found === undefined) break;
      keyNode = found.key;
      valueNode = found.value;
      node = found.value;
      matched++;
    }
    const complete = matched === path.length;
    const resolved = resolve(doc, valueNode);
    // A block map or list as "the value" would point at its first child; its key reads better.
    // So would an empty value (`priority:` and nothing after it): there is nothing to point at.
    const blockOrEmpty = (isCollection(resolved) && !resolved.flow) || (isScalar(resolved) && resolved.value === null && resolved.source === '');
    const valueUsable = complete && at === 'value' && isNode(resolved) && !blockOrEmpty ? valueNode : undefined;
    const target = valueUsable ?? keyNode ?? (complete ? valueNode : undefined);
    const offset = target?.range?.[0];
    return offset === undefined ? { line: 1, col: 1 } : position(offset);
  };
}

interface Found {
  readonly key: Node | undefined;
  readonly value: Node | undefined;
}

function findPair(doc: Document, map: unknown, key: string, depth: number): Found | undefined {
  if (!isMap(map) || depth > 8) return undefined;
  for (const pair of map.items) {
    if (isScalar(pair.key) && String(pair.key.value) === key) {
      return { key: pair.key, value: isNode(pair.value) ? pair.value : undefined };
    }
  }
  // Merge keys: the field lives in the merged map; point there.
  for (const pair of map.items) {
    // yaml marks a merge key with a symbol value; '<<' covers documents parsed without merge.
    if (!isScalar(pair.key) || (typeof pair.key.value !== 'symbol' && pair.key.value !== '<<')) continue;
    const sources = isSeq(pair.value) ? pair.value.items : [pair.value];
    for (const source of sources) {
      const found = findPair(doc, resolve(doc, source), key, depth + 1);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

function seqItem(seq: { items: unknown[] }, index: number): Found | undefined {
  const item = seq.items[index];
  return isNode(item) ? { key: item, value: item } : undefined;
}

function resolve(doc: Document, node: unknown): unknown {
  return isAlias(node) ? node.resolve(doc) : node;
}

function isNode(value: unknown): value is Node {
  return isScalar(value) || isCollection(value) || isAlias(value);
}
