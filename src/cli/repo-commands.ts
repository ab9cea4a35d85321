/**
 * `lifeboat repo ...`: restic-like commands on one repository directory.
 */
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { LifeboatError } from '../core/errors.ts';
import { openBackend, type Backend } from '../core/backend/index.ts';
import { Repository } from '../core/repository/repository.ts';
import { backup, normalisePaths } from '../core/archiver/archiver.ts';
import { Prescan } from '../core/archiver/dir-scan.ts';
import { restore } from '../core/restorer/restorer.ts';
import { check } from '../core/checker/checker.ts';
import { decodeTree } from '../core/format/tree.ts';
import { compilePatterns, readExcludeFile } from '../core/filter/index.ts';
import type { Id, TreeId } from '../core/ids.ts';
import { resolvePassword } from './password.ts';
import { EXIT } from './exit-codes.ts';
import { Progress, fmtBytes, plural } from './progress.ts';
import { catObject } from './cat.ts';

type Env = NodeJS.ProcessEnv;

const COMMON = {
  repo: { type: 'string', short: 'r' },
  'password-file': { type: 'string', short: 'p' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
} as const;

function parse<T extends Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>>(args: string[], options: T) {
  try {
    return parseArgs({ args, options: { ...COMMON, ...options }, allowPositionals: true, strict: true });
  } catch (e) {
    throw new LifeboatError('USAGE', (e as Error).message, { hint: 'run `lifeboat --help`' });
  }
}

/** The repository's backend, from --repo or the environment, as restic reads a location (core/backend/location.ts). */
function repoBackend(v: string | undefined, env: Env): Backend {
  const r = v ?? env.LIFEBOAT_REPOSITORY ?? env.RESTIC_REPOSITORY;
  if (!r) throw new LifeboatError('USAGE', 'No repository given', { hint: 'use --repo DIR (or set RESTIC_REPOSITORY)' });
  return openBackend(r);
}

async function openRepo(values: { repo?: string | undefined; 'password-file'?: string | undefined }, env: Env): Promise<Repository> {
  const backend = repoBackend(values.repo, env);
  const password = resolvePassword({ passwordFile: values['password-file'] }, env);
  return Repository.open(backend, { password });
}

/**
 * Where `repo backup` keeps its tree memo: --cache-dir, else LIFEBOAT_CACHE_DIR, else the XDG
 * cache directory (restic keeps its cache the same way). Undefined with --no-cache or no home.
 */
function cacheDir(values: { 'cache-dir'?: string | undefined; 'no-cache'?: boolean | undefined }, env: Env): string | undefined {
  if (values['no-cache']) return undefined;
  const dir = values['cache-dir'] ?? env.LIFEBOAT_CACHE_DIR;
  if (dir) return path.resolve(dir);
  if (env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME)) return path.join(env.XDG_CACHE_HOME, 'lifeboat');
  if (env.HOME && path.isAbsolute(env.HOME)) return path.join(env.HOME, '.cache', 'lifeboat');
  return undefined;
}

function out(s: string): void {
  process.stdout.write(s.endsWith('\n') ? s : s + '\n');
}

function withSignal(): { signal: AbortSignal; dispose: () => void } {
  const ac = new AbortController();
  const onSig = (): void => ac.abort();
  process.once('SIGINT', onSig);
  process.once('SIGTERM', onSig);
  return {
    signal: ac.signal,
    dispose: () => {
      process.off('SIGINT', onSig);
      process.off('SIGTERM', onSig);
    },
  };
}

export async function runRepoCommand(argv: string[], env: Env): Promise<number> {
  const [sub, ...args] = argv;
  switch (sub) {
    case 'init':
      return cmdInit(args, env);
    case 'backup':
      return cmdBackup(args, env);
    case 'snapshots':
      return cmdSnapshots(args, env);
    case 'ls':
      return cmdLs(args, env);
    case 'restore':
      return cmdRestore(args, env);
    case 'check':
      return cmdCheck(args, env);
    case 'cat':
      return cmdCat(args, env);
    default:
      throw new LifeboatError('USAGE', `Unknown repo command ${JSON.stringify(sub ?? '')}`, { hint: 'run `lifeboat --help`' });
  }
}

async function cmdInit(args: string[], env: Env): Promise<number> {
  const { values } = parse(args, {});
  const backend = repoBackend(values.repo, env);
  const password = resolvePassword({ passwordFile: values['password-file'] }, env);
  const repo = await Repository.init(backend, password);
  if (values.json) out(JSON.stringify({ message_type: 'initialized', id: repo.config.id, repository: repo.location }));
  else if (!values.quiet) out(`created restic repository ${repo.config.id.slice(0, 10)} at ${repo.location}`);
  await repo.close();
  return EXIT.OK;
}

async function cmdBackup(args: string[], env: Env): Promise<number> {
  const { values, positionals } = parse(args, {
    tag: { type: 'string', multiple: true },
    host: { type: 'string' },
    exclude: { type: 'string', short: 'e', multiple: true },
    'exclude-file': { type: 'string', multiple: true },
    stdin: { type: 'boolean' },
    'stdin-filename': { type: 'string' },
    force: { type: 'boolean', short: 'f' },
    'cache-dir': { type: 'string' },
    'no-cache': { type: 'boolean' },
  });
  if (values.stdin && positionals.length > 0) throw new LifeboatError('USAGE', '--stdin takes no paths');
  if (values.stdin && !values['stdin-filename']) throw new LifeboatError('USAGE', '--stdin needs --stdin-filename NAME');
  const patterns = [...(values.exclude ?? [])];
  for (const f of values['exclude-file'] ?? []) patterns.push(...(await readExcludeFile(f, env)));
  const exclude = patterns.length > 0 ? compilePatterns(patterns) : undefined; // exclude files are expanded already; flags are literal, as in restic
  const tags = (values.tag ?? []).flatMap((t) => t.split(',')).filter(Boolean);
  // Read and fingerprint directories ahead while the key is derived (dir-scan.ts).
  const cache = cacheDir(values, env);
  const prescan = values.stdin ? undefined : new Prescan(normalisePaths(positionals), exclude && ((p) => exclude.excludes(p)), cache !== undefined);
  let repo: Repository;
  try {
    repo = await openRepo(values, env);
  } catch (e) {
    prescan?.stop();
    throw e;
  }
  const { signal, dispose } = withSignal();
  // The archiver sees the abort only when the next piece of stdin arrives; an idle pipe would
  // keep an interrupted run (and its lock) alive, then save a snapshot. End the stream instead.
  if (values.stdin) {
    process.stdin.on('error', () => {}); // the error reaches the archiver through its iterator
    signal.addEventListener('abort', () => process.stdin.destroy(new DOMException('interrupted', 'AbortError')), { once: true });
  }
  const lock = await repo.lock(false);
  repo.useIndexCache(cache);
  const progress = Progress.for('backup', !!values.json);
  const errors: string[] = [];
  try {
    // The archiver loads the index when it first needs it (tree-memo.ts: maybe never).
    prescan?.stop();
    const summary = await backup(repo, {
      prescan,
      memoDir: cache,
      paths: positionals,
      stdin: values.stdin ? { stream: process.stdin, filename: values['stdin-filename']! } : undefined,
      exclude,
      excludePatterns: patterns,
      tags,
      host: values.host,
      parent: values.force ? null : undefined,
      signal,
      scanTotals: !values.quiet && (values.json || process.stderr.isTTY),
      onEvent: (e) => {
        if (e.type === 'progress') progress.update(e);
        else if (e.type === 'warning') process.stderr.write(`\rwarning: ${e.message}\n`);
        else {
          errors.push(`${e.path}: ${e.message}`);
          if (values.json) out(JSON.stringify({ message_type: 'error', item: e.path, error: e.message }));
          else process.stderr.write(`\rerror: ${e.path}: ${e.message}\n`);
        }
      },
    });
    progress.done();
    if (values.json) {
      out(JSON.stringify({
        message_type: 'summary',
        files_new: summary.filesNew,
        files_changed: summary.filesChanged,
        files_unmodified: summary.filesUnmodified,
        dirs: summary.dirs,
        dirs_reused: summary.dirsReused,
        data_blobs: summary.dataBlobs,
        tree_blobs: summary.treeBlobs,
        data_added: summary.dataAdded,
        total_files_processed: summary.totalFilesProcessed,
        total_bytes_processed: summary.totalBytesProcessed,
        errors: summary.errors.length,
        snapshot_id: summary.snapshotId,
        parent: summary.parent,
      }));
    } else if (!values.quiet) {
      out(`Files: ${summary.filesNew} new, ${summary.filesChanged} changed, ${summary.filesUnmodified} unmodified`);
      out(`Added to the repository: ${fmtBytes(summary.dataAdded)} (${summary.dataBlobs} data blobs, ${summary.treeBlobs} tree blobs)`);
      out(`processed ${plural(summary.totalFilesProcessed, 'file')}, ${fmtBytes(summary.totalBytesProcessed)}`);
      out(`snapshot ${summary.snapshotId.slice(0, 8)} saved`);
      if (summary.errors.length > 0) out(`Warning: ${plural(summary.errors.length, 'file or directory', 'files or directories')} could not be read`);
    }
    return summary.errors.length > 0 ? EXIT.PARTIAL : EXIT.OK;
  } finally {
    dispose();
    await lock.release().catch(() => {});
    await repo.close();
  }
}

async function cmdSnapshots(args: string[], env: Env): Promise<number> {
  const { values } = parse(args, { host: { type: 'string' }, tag: { type: 'string', multiple: true } });
  const repo = await openRepo(values, env);
  try {
    let list = await repo.listSnapshots({
      onError: (id, e) => process.stderr.write(`warning: snapshot ${id.slice(0, 8)} cannot be loaded (skipped): ${(e as Error).message}\n`),
    });
    if (values.host) list = list.filter((s) => s.snapshot.hostname === values.host);
    if (values.tag) list = list.filter((s) => values.tag!.every((t) => s.snapshot.tags?.includes(t)));
    if (values.json) {
      out(JSON.stringify(list.map((s) => ({ ...snapshotJson(s.snapshot), id: s.id, short_id: s.id.slice(0, 8) }))));
      return EXIT.OK;
    }
    const rows = list.map((s) => [s.id.slice(0, 8), s.snapshot.time.slice(0, 19).replace('T', ' '), s.snapshot.hostname ?? '', (s.snapshot.tags ?? []).join(','), s.snapshot.paths.join(' ')]);
    const head = ['ID', 'Time', 'Host', 'Tags', 'Paths'];
    const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (r: string[]): string => r.map((c, i) => c.padEnd(w[i]!)).join('  ').trimEnd();
    out(line(head));
    out('-'.repeat(line(head).length + 10));
    for (const r of rows) out(line(r));
    out(plural(rows.length, 'snapshot'));
    return EXIT.OK;
  } finally {
    await repo.close();
  }
}

function snapshotJson(s: import('../core/format/snapshot.ts').Snapshot): Record<string, unknown> {
  return {
    time: s.time,
    parent: s.parent,
    tree: s.tree,
    paths: s.paths,
    hostname: s.hostname,
    username: s.username,
    uid: s.uid,
    gid: s.gid,
    excludes: s.excludes,
    tags: s.tags,
  };
}

async function cmdLs(args: string[], env: Env): Promise<number> {
  const { values, positionals } = parse(args, { long: { type: 'boolean', short: 'l' } });
  const [ref, prefix] = positionals;
  if (!ref) throw new LifeboatError('USAGE', 'ls needs a SNAPSHOT (id, prefix or latest)');
  const repo = await openRepo(values, env);
  try {
    await repo.loadIndex();
    const { id, snapshot } = await repo.findSnapshot(ref);
    const want = prefix ? '/' + prefix.split('/').filter(Boolean).join('/') : '/';
    if (values.json) out(JSON.stringify({ ...snapshotJson(snapshot), id, short_id: id.slice(0, 8), struct_type: 'snapshot' }));
    else out(`snapshot ${id.slice(0, 8)} of [${snapshot.paths.join(' ')}] at ${snapshot.time}:`);
    const walk = async (tree: TreeId, dir: string): Promise<void> => {
      for (const n of decodeTree(await repo.loadBlob('tree', tree))) {
        const p = (dir === '/' ? '/' : dir + '/') + n.name.toString('utf8');
        const inScope = want === '/' || p === want || p.startsWith(want + '/');
        const onWay = want.startsWith(p + '/');
        if (inScope) {
          if (values.json) out(JSON.stringify({ name: n.name.toString('utf8'), type: n.type, path: p, uid: n.uid, gid: n.gid, size: n.type === 'file' ? Number(n.size) : undefined, mode: n.mode, struct_type: 'node' }));
          else if (values.long) out(`${n.type.padEnd(8)} ${String(n.uid).padStart(5)} ${String(n.gid).padStart(5)} ${String(n.type === 'file' ? n.size : 0).padStart(12)} ${p}`);
          else out(p);
        }
        if (n.type === 'dir' && n.subtree && (inScope || onWay)) await walk(n.subtree as TreeId, p);
      }
    };
    await walk(snapshot.tree as TreeId, '/');
    return EXIT.OK;
  } finally {
    await repo.close();
  }
}

async function cmdRestore(args: string[], env: Env): Promise<number> {
  const { values, positionals } = parse(args, {
    target: { type: 'string', short: 't' },
    include: { type: 'string', short: 'i', multiple: true },
    verify: { type: 'boolean' },
  });
  const [spec] = positionals;
  if (!spec) throw new LifeboatError('USAGE', 'restore needs SNAPSHOT[:SUBPATH]');
  if (!values.target) throw new LifeboatError('USAGE', 'restore needs --target DIR');
  const colon = spec.indexOf(':');
  const ref = colon >= 0 ? spec.slice(0, colon) : spec;
  const subpath = colon >= 0 ? spec.slice(colon + 1) : undefined;
  const include = values.include?.length ? compilePatterns(values.include) : undefined;
  const repo = await openRepo(values, env);
  const lock = await repo.lock(false);
  const { signal, dispose } = withSignal();
  const progress = Progress.for('restore', !!values.json);
  try {
    await repo.loadIndex();
    const { id, snapshot } = await repo.findSnapshot(ref);
    if (!values.json && !values.quiet) process.stderr.write(`restoring snapshot ${id.slice(0, 8)} of [${snapshot.paths.join(' ')}] to ${values.target}\n`);
    const summary = await restore(repo, {
      snapshot,
      subpath,
      target: values.target,
      include,
      verify: values.verify,
      signal,
      onEvent: (e) => {
        if (e.type === 'progress') progress.update(e);
        else if (values.json) out(JSON.stringify({ message_type: 'error', item: e.path, error: e.message }));
        else process.stderr.write(`\rerror: ${e.path}: ${e.message}\n`);
      },
    });
    progress.done();
    if (values.json) out(JSON.stringify({ message_type: 'summary', files_restored: summary.files, dirs: summary.dirs, bytes_restored: summary.bytes, files_verified: summary.verifiedFiles, errors: summary.errors.length, snapshot_id: id }));
    else if (!values.quiet) {
      out(`restored ${plural(summary.files, 'file')}, ${plural(summary.dirs, 'directory', 'directories')}, ${fmtBytes(summary.bytes)}${values.verify ? `; verified ${plural(summary.verifiedFiles, 'file')}` : ''}`);
      if (summary.errors.length > 0) out(plural(summary.errors.length, 'error'));
    }
    return summary.errors.length > 0 ? EXIT.ERROR : EXIT.OK;
  } finally {
    dispose();
    await lock.release().catch(() => {});
    await repo.close();
  }
}

async function cmdCheck(args: string[], env: Env): Promise<number> {
  const { values } = parse(args, { 'read-data': { type: 'boolean' }, 'read-data-subset': { type: 'string' } });
  let subset: { n: number; m: number } | undefined;
  if (values['read-data-subset']) {
    const m = /^(\d+)\/(\d+)$/.exec(values['read-data-subset']);
    if (!m || Number(m[1]) < 1 || Number(m[1]) > Number(m[2])) throw new LifeboatError('USAGE', `Invalid --read-data-subset ${values['read-data-subset']}: use N/M with 1 <= N <= M`);
    subset = { n: Number(m[1]), m: Number(m[2]) };
  }
  const repo = await openRepo(values, env);
  const lock = await repo.lock(true);
  const progress = Progress.for('check', !!values.json);
  try {
    const result = await check(repo, {
      readData: values['read-data'] ? { n: 1, m: 1 } : subset,
      onEvent: (e) => {
        if (e.type === 'progress') progress.update({ files: e.packs, bytes: e.bytes, totalFiles: e.totalPacks, totalBytes: e.totalBytes });
      },
    });
    progress.done();
    if (values.json) out(JSON.stringify({ message_type: 'summary', ok: result.errors.length === 0, errors: result.errors, hints: result.hints, snapshots: result.snapshots, packs: result.packs, blobs: result.blobs, packs_read: result.packsRead }));
    else {
      for (const h of result.hints) out(`hint: ${h.message}`);
      for (const e of result.errors) out(`error: ${e.message}`);
      out(result.errors.length === 0 ? 'no errors were found' : `repository contains errors (${result.errors.length})`);
    }
    return result.errors.length === 0 ? EXIT.OK : EXIT.ERROR;
  } finally {
    await lock.release().catch(() => {});
    await repo.close();
  }
}

async function cmdCat(args: string[], env: Env): Promise<number> {
  const { values, positionals } = parse(args, {});
  const [what, id] = positionals;
  if (!what) throw new LifeboatError('USAGE', 'cat needs config|key|masterkey|index|snapshot|pack|blob [ID]');
  const repo = await openRepo(values, env);
  try {
    const bytes = await catObject(repo, what, id as Id | undefined);
    process.stdout.write(bytes);
    return EXIT.OK;
  } finally {
    await repo.close();
  }
}
