/**
 * restic's own test repositories (../shared/reference/restic-testdata, password `geheim`; its
 * SOURCE.md says what each is), clean and damaged, in both repository versions:
 *   - `lifeboat repo check --read-data` reaches restic's verdict (`restic check --read-data`) on
 *     every one, and names every pack, tree and blob restic names as damaged or missing;
 *   - every snapshot restic restores, lifeboat restores identically, content and the metadata
 *     rsync -aAXH carries (compareTrees).
 * A repository's archive is unpacked afresh for each program, so neither sees the other's locks.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import { LIFEBOAT, Sandbox, requireTools, type RunResult } from './tools.ts';
import { compareTrees } from './edge-tree.ts';

const TESTDATA = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'shared', 'reference', 'restic-testdata');
const PASSWORD = 'geheim';

/** The archives holding a repository (test.hl and backup-data hold source trees). */
function repoArchives(): string[] {
  assert.ok(existsSync(TESTDATA), `restic's test repositories are expected at ${TESTDATA}`);
  return readdirSync(TESTDATA)
    .filter((n) => n.endsWith('.tar.gz') && n !== 'test.hl.tar.gz' && n !== 'backup-data.tar.gz')
    .map((n) => n.slice(0, -'.tar.gz'.length))
    .sort();
}

/** The 8-hex-digit ids a line names (restic prints whole ids, lifeboat short ones). */
function shortIds(line: string): string[] {
  return [...line.matchAll(/\b([0-9a-f]{8})[0-9a-f]{0,56}\b/g)].map((m) => m[1]!);
}

/**
 * The objects restic's check calls damaged or missing: ids on its error lines, leaving out the
 * "error for tree X:" headers (the tree that points at the damage, not the damage) and the
 * packs it only notes as unreferenced (not an error).
 */
function resticDamage(out: string): Set<string> {
  const ids = new Set<string>();
  for (const line of out.split('\n')) {
    if (/^error for tree [0-9a-f]+:$/.test(line.trim()) || /not referenced in any index/.test(line) || /returned error, retrying/.test(line)) continue;
    // "tree T: file "x" blob B not found in index": B is the damage, T only holds it.
    const detail = line.replace(/^\s*tree [0-9a-f]{64}: /, '');
    if (/does not exist|not found|unexpected file size|does not match|damaged|invalid|error/i.test(detail)) for (const id of shortIds(detail)) ids.add(id);
  }
  return ids;
}

/** Runs a command without blocking the event loop (restic's check waits out retries of missing packs for minutes). */
function runAsync(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ status: code ?? -1, stdout, stderr }));
  });
}

describe("restic's own test repositories", () => {
  let sb: Sandbox;
  /** restic check --read-data of every repository, all started at once: most of their time is restic's retry waits. */
  const resticChecks = new Map<string, Promise<RunResult>>();
  let compared = 0;
  /** Unpacks `name`'s archive into a fresh directory and returns its repository. */
  const unpack = (name: string, label: string): string => {
    const dir = sb.path(`${name}-${label}`);
    mkdirSync(dir);
    const r = sb.exec('tar', ['-xzf', path.join(TESTDATA, `${name}.tar.gz`), '-C', dir]);
    assert.equal(r.status, 0, r.stderr);
    return path.join(dir, 'repo');
  };

  before(() => {
    requireTools('restic', 'tar');
    sb = new Sandbox('testdata');
    sb.env.RESTIC_PASSWORD = PASSWORD;
    sb.env.LIFEBOAT_PASSWORD = PASSWORD;
    for (const name of repoArchives()) resticChecks.set(name, runAsync('restic', ['-r', unpack(name, 'restic'), '--no-cache', 'check', '--read-data'], sb.env));
  });
  after(() => sb?.dispose());

  test('there are repositories to test, damaged ones among them', () => {
    const names = repoArchives();
    assert.ok(names.length >= 10, names.join(', '));
    assert.ok(names.includes('repo-data-missing') && names.includes('small-repo'), names.join(', '));
  });

  for (const name of repoArchives()) {
    test(`${name}: check --read-data reaches restic's verdict and names what restic names; every snapshot restic restores, lifeboat restores identically`, async () => {
      const ours = sb.exec(LIFEBOAT, ['repo', 'check', '--read-data', '--repo', unpack(name, 'lifeboat')]);
      const theirs = await resticChecks.get(name)!;
      const verdict = (s: number): string => (s === 0 ? 'clean' : 'damaged');
      assert.equal(verdict(ours.status), verdict(theirs.status), `lifeboat exited ${ours.status}, restic ${theirs.status}\n--- lifeboat:\n${ours.stdout}${ours.stderr}\n--- restic:\n${theirs.stdout}${theirs.stderr}`);
      assert.ok(ours.status === 0 || ours.status === 1, `check exits 0 or 1, not ${ours.status}: ${ours.stderr}`);
      const named = new Set(ours.stdout.split('\n').filter((l) => l.startsWith('error: ')).flatMap(shortIds));
      const missed = [...resticDamage(theirs.stdout + theirs.stderr)].filter((id) => !named.has(id));
      assert.deepEqual(missed, [], `restic names these, lifeboat does not:\n--- lifeboat:\n${ours.stdout}\n--- restic:\n${theirs.stdout}${theirs.stderr}`);

      const repo = unpack(name, 'restore');
      const snaps = JSON.parse(sb.exec('restic', ['-r', repo, '--no-cache', '--no-lock', 'snapshots', '--json']).stdout || '[]') as { id: string }[];
      for (const { id } of snaps) {
        const a = sb.path(`${name}-restic-${id.slice(0, 8)}`);
        const b = sb.path(`${name}-lifeboat-${id.slice(0, 8)}`);
        const r = sb.exec('restic', ['-r', repo, '--no-cache', '--no-lock', 'restore', id, '--target', a]);
        if (r.status !== 0) continue; // restic cannot restore it either (a damaged repository)
        const l = sb.exec(LIFEBOAT, ['repo', 'restore', '--repo', repo, id, '--target', b]);
        assert.equal(l.status, 0, `lifeboat restore of ${name} ${id.slice(0, 8)} exited ${l.status}: ${l.stderr}`);
        // The target directories themselves ('.') are each program's own, made for the restore and not in the snapshot.
        assert.deepEqual(compareTrees(a, b).filter((d) => !d.startsWith('.: ')), [], `${name} snapshot ${id.slice(0, 8)}`);
        compared++;
      }
    });
  }

  test('restores were compared, not skipped: most snapshots of these repositories restore with restic', () => {
    assert.ok(compared >= 15, `only ${compared} snapshots were restored by restic and compared`);
  });
});
