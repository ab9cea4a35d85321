/**
 * Keeps the arrows pointing down (../shared/style.md "Shape"): reads every relative import under
 * src/ and fails on
 *   - an upward import: a layer importing a layer above it. Layers, top to bottom:
 *     cli and web; ops; generators; config; core. core imports nothing of ours outside core,
 *     config only core, generators only config and core, ops all but cli/web and generators;
 *   - a deep import across folders: a folder that has an index.ts is entered only through it
 *     (a folder's own files, and tests beside them, may import each other freely; a test may
 *     import another folder's test helper, a file named test-*.ts);
 *   - a cycle between folders: folder A importing B while B, directly or not, imports A.
 * A folder is a directory under src/ (the files directly in src/core form the folder src/core).
 * Type-only imports count: a cycle of types is a cycle of concepts.
 *
 * `node --import tsx scripts/check-boundaries.ts [ROOT]` prints one line per violation and exits 1
 * when there is any; `npm test` runs it before the suites.
 */
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export type Violation =
  | { readonly kind: 'upward'; readonly file: string; readonly target: string; readonly message: string }
  | { readonly kind: 'deep'; readonly file: string; readonly target: string; readonly message: string }
  | { readonly kind: 'cycle'; readonly folders: readonly string[]; readonly message: string };

/** Layer rank: a file may import only folders of the same or a lower rank (see forbidden() for ops and generators). */
const LAYERS: readonly { readonly prefix: string; readonly rank: number }[] = [
  { prefix: 'src/cli', rank: 4 },
  { prefix: 'src/web', rank: 4 },
  { prefix: 'src/ops', rank: 3 },
  { prefix: 'src/generators', rank: 2 },
  { prefix: 'src/config', rank: 1 },
  { prefix: 'src/core', rank: 0 },
  { prefix: 'src/native', rank: 0 },
];

function layerOf(rel: string): { prefix: string; rank: number } | undefined {
  return LAYERS.find((l) => rel === l.prefix || rel.startsWith(l.prefix + '/'));
}

/** ops and generators are side by side in meaning, but generators must stay pure: neither imports the other. */
function forbidden(from: string, to: string): boolean {
  const a = layerOf(from);
  const b = layerOf(to);
  if (!a || !b) return false;
  if (a.prefix === 'src/ops' && b.prefix === 'src/generators') return false;
  if (a.prefix === 'src/generators' && b.prefix === 'src/ops') return true;
  return b.rank > a.rank;
}

const IMPORT = /(?:^|[\s;])(?:import|export)\s(?:[^'";]*?\sfrom\s)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm;

/** The relative specifiers a module imports (bare package names are not ours). */
export function importsOf(source: string): string[] {
  const out: string[] = [];
  for (const m of source.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2];
    if (spec && spec.startsWith('.')) out.push(spec);
  }
  return out;
}

function walk(dir: string, out: string[]): void {
  for (const n of readdirSync(dir)) {
    const p = path.join(dir, n);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (n.endsWith('.ts')) out.push(p);
  }
}

/** Strongly connected components of more than one folder (Tarjan). */
function cycles(graph: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) found.push(scc.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return found;
}

export function checkBoundaries(root: string): Violation[] {
  const files: string[] = [];
  walk(path.join(root, 'src'), files);
  const violations: Violation[] = [];
  const graph = new Map<string, Set<string>>();
  for (const abs of files.sort()) {
    const file = path.relative(root, abs);
    const folder = path.dirname(file);
    const isTest = file.endsWith('.test.ts');
    for (const spec of importsOf(readFileSync(abs, 'utf8'))) {
      const target = path.relative(root, path.resolve(path.dirname(abs), spec));
      if (!target.startsWith('src/')) continue; // test support under test/, scripts
      const targetFolder = path.dirname(target);
      if (forbidden(folder, targetFolder)) {
        violations.push({ kind: 'upward', file, target, message: `${file} imports ${target}: ${layerOf(folder)!.prefix} may not import ${layerOf(targetFolder)!.prefix} (arrows point down)` });
      }
      // A test may use another folder's test helper (test-*.ts), which no index.ts exports.
      const testHelper = isTest && path.basename(target).startsWith('test-');
      if (targetFolder !== folder && !testHelper && path.basename(target) !== 'index.ts' && existsSync(path.join(root, targetFolder, 'index.ts')) && !targetFolder.startsWith(folder + '/')) {
        violations.push({ kind: 'deep', file, target, message: `${file} imports ${target}: ${targetFolder} is entered only through its index.ts` });
      }
      if (!isTest && targetFolder !== folder) {
        const edges = graph.get(folder) ?? new Set<string>();
        edges.add(targetFolder);
        graph.set(folder, edges);
      }
    }
  }
  for (const scc of cycles(graph)) violations.push({ kind: 'cycle', folders: scc, message: `folders import each other in a circle: ${scc.join(', ')}` });
  return violations;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = path.resolve(process.argv[2] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..'));
  const found = checkBoundaries(root);
  for (const v of found) process.stderr.write(`check-boundaries: ${v.message}\n`);
  if (found.length > 0) process.exit(1);
  process.stdout.write('check-boundaries: imports point down, folders with an index.ts are entered through it, no folder cycles\n');
}
