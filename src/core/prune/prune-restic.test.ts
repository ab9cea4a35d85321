/**
 * Prune against the real restic 0.14 as oracle (restic-format.md §9.2, §9.3).
 *
 * A restic-made repository holds five snapshots of a changing tree (`restic backup --pack-size 4`
 * with --time); our planForget + forget drop the two oldest, so their data lies unused in
 * partly used packs. Then:
 *   - planPrune picks the same packs to repack and to remove as `restic prune --dry-run -vv`;
 *   - our prune leaves a repository `restic check --read-data` finds clean, with no additional
 *     files; every remaining snapshot restores identically (restic restore and our restorer);
 *     the repository shrank; and restic's own prune then sees nothing left to do;
 *   - crash safety: prune runs in a child process (prune-child.ts) that is SIGKILLed at
 *     deterministic-random instants and, separately, right after each step of executePrune.
 *     After every kill: `restic unlock` where our lock was left (restic does not ignore a dead
 *     process's lock), then `restic check --read-data` must pass and every remaining snapshot
 *     must restore identically; then a full prune must complete and leave a clean repository.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { existsSync, promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalBackend } from '../backend/index.ts';
import { Repository } from '../repository/repository.ts';
import { restore } from '../restorer/restorer.ts';
import { planForget } from '../retention/index.ts';
import { executePrune } from './execute-prune.ts';
import { forget } from './forget.ts';
import { planPrune } from './plan-prune.ts';
import { xorshift32Unit as prng } from '../../../test/support/prng.ts';

const PASSWORD = 'prune oracle password';
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const CHILD = path.join('src', 'core', 'prune', 'prune-child.ts');
const VERSIONS = 5;
const KEEP_LAST = 3;
// CI runs a handful; `npm run soak` sets LIFEBOAT_SOAK_TRIALS=50.
const TIME_TRIALS = Math.max(3, Number(process.env.LIFEBOAT_SOAK_TRIALS ?? 6));
const SEED = 0x9e3779b9;

let work: string;
let src: string;
let template: string;
let env: NodeJS.ProcessEnv;
/** Remaining snapshot id -> version number. */
const remaining = new Map<string, number>();

// ---------- deterministic source versions ----------

function seeded(seed: string, n: number): Buffer {
  const c = createCipheriv('aes-256-ctr', createHash('sha256').update(seed).digest(), Buffer.alloc(16));
  return Buffer.concat([c.update(Buffer.alloc(n)), c.final()]);
}

/** Version v of the source: 12 binary files, 3 rewritten per version, one file added and one dropped, text notes. */
function versionFiles(v: number): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (let i = 0; i < 12; i++) {
    let rev = 1;
    for (let w = 2; w <= v; w++) if ([0, 1, 2].some((j) => (w * 3 + j) % 12 === i)) rev = w;
    files.set(`bin/f${i}.bin`, seeded(`f${i}-r${rev}`, 300_000 + i * 70_000));
  }
  for (let w = Math.max(2, v - 1); w <= v; w++) files.set(`added/v${w}.bin`, seeded(`added-${w}`, 900_000));
  for (let k = 0; k < 6; k++) files.set(`notes/n${k}.txt`, Buffer.from(`version ${k < 3 ? 1 : v} note ${k}\n`.repeat(200 + k)));
  files.set('empty', Buffer.alloc(0));
  return files;
}

async function writeVersion(v: number, dir: string): Promise<void> {
  await fsp.rm(dir, { recursive: true, force: true });
  for (const [rel, data] of versionFiles(v)) {
    await fsp.mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
    await fsp.writeFile(path.join(dir, rel), data);
  }
  await fsp.mkdir(path.join(dir, 'empty-dir'), { recursive: true });
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

function expected(v: number): Map<string, string> {
  return new Map([...versionFiles(v)].map(([rel, b]) => [rel, sha(b)]));
}

/** rel path -> sha256 of every regular file under dir. */
async function hashTree(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string): Promise<void> => {
    for (const e of await fsp.readdir(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) out.set(path.relative(dir, p), sha(await fsp.readFile(p)));
    }
  };
  await walk(dir);
  return out;
}

const sorted = (m: Map<string, string>): [string, string][] => [...m].sort(([a], [b]) => (a < b ? -1 : 1));

// ---------- tools ----------

interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function restic(repo: string, ...args: string[]): Run {
  // --no-cache: the trial repositories are copies sharing one repository id.
  const r = spawnSync('restic', ['-r', repo, '--no-cache', ...args], { env, encoding: 'utf8', maxBuffer: 256 << 20 });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

function resticOk(repo: string, ...args: string[]): Run {
  const r = restic(repo, ...args);
  assert.equal(r.status, 0, `restic ${args.join(' ')} exited ${r.status}\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`);
  return r;
}

async function du(dir: string): Promise<number> {
  let n = 0;
  const walk = async (d: string): Promise<void> => {
    for (const e of await fsp.readdir(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else n += (await fsp.stat(p)).size;
    }
  };
  await walk(dir);
  return n;
}

const count = async (dir: string): Promise<number> => (await fsp.readdir(dir).catch(() => [] as string[])).filter((n) => /^[0-9a-f]{64}$/.test(n)).length;
async function countPacks(repo: string): Promise<number> {
  let n = 0;
  for (const sub of await fsp.readdir(path.join(repo, 'data'))) n += await count(path.join(repo, 'data', sub));
  return n;
}

async function copyTemplate(name: string): Promise<string> {
  const dst = path.join(work, name);
  await fsp.cp(template, dst, { recursive: true });
  return dst;
}

/** restic check --read-data must pass; returns the number of additional (unindexed) pack files it reported. */
function checkClean(repo: string): number {
  const r = resticOk(repo, 'check', '--read-data');
  assert.match(r.stdout, /no errors were found/);
  const extra = /(\d+) additional files were found/.exec(r.stdout);
  return extra ? Number(extra[1]) : 0;
}

/** Every remaining snapshot is present and restic restores it identically to its source version. */
async function assertSnapshotsRestore(repo: string, label: string): Promise<number> {
  const snaps = JSON.parse(resticOk(repo, 'snapshots', '--json').stdout) as { id: string }[];
  assert.deepEqual(snaps.map((s) => s.id).sort(), [...remaining.keys()].sort(), `${label}: remaining snapshots`);
  let bytes = 0;
  for (const [id, v] of remaining) {
    const target = path.join(work, `restore-${label}-${v}`);
    resticOk(repo, 'restore', id, '--target', target);
    const got = await hashTree(path.join(target, src));
    assert.deepEqual(sorted(got), sorted(expected(v)), `${label}: snapshot ${id.slice(0, 8)} (version ${v}) restores identically`);
    for (const b of versionFiles(v).values()) bytes += b.length;
    await fsp.rm(target, { recursive: true, force: true });
  }
  return bytes;
}

// ---------- the child ----------

interface ChildOptions {
  readonly killAfterMs?: number;
  readonly anchor?: string;
  readonly dieAt?: number;
  readonly dieAfterPackSave?: boolean;
}

interface ChildRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly lines: { ev: string; at: number; [k: string]: unknown }[];
  readonly stderr: string;
}

/**
 * Runs prune-child.ts; `killAfterMs` SIGKILLs it that long after its `anchor` line ("ready" by
 * default, printed once its modules are loaded). Line times are ms after "ready".
 */
function runChild(repo: string, opts: ChildOptions = {}): Promise<ChildRun> {
  const args = ['--import', 'tsx', CHILD, repo, ...(opts.dieAt !== undefined ? ['--die-at', String(opts.dieAt)] : []), ...(opts.dieAfterPackSave ? ['--die-after-pack-save'] : [])];
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: ChildRun['lines'] = [];
  let ready = 0;
  let buf = '';
  let stderr = '';
  let timer: NodeJS.Timeout | undefined;
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      const o = JSON.parse(line) as { ev: string };
      if (o.ev === 'ready') ready = Date.now();
      if (o.ev === (opts.anchor ?? 'ready') && opts.killAfterMs !== undefined) timer = setTimeout(() => child.kill('SIGKILL'), opts.killAfterMs);
      lines.push({ ...o, at: Date.now() - ready });
    }
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, lines, stderr });
    });
  });
}

// ---------- setup ----------

before(async () => {
  const v = spawnSync('restic', ['version'], { encoding: 'utf8' });
  assert.match(v.stdout ?? '', /^restic 0\.14\./, 'this oracle test needs restic 0.14 on PATH');
  // tmpfs where there is one: a SIGKILL loses no page-cache data, and the runs are faster.
  work = await fsp.mkdtemp(path.join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'lifeboat-prune-'));
  env = { ...process.env, RESTIC_PASSWORD: PASSWORD, LIFEBOAT_TEST_PASSWORD: PASSWORD, TZ: 'UTC', RESTIC_PROGRESS_FPS: '0.01' };
  for (const k of Object.keys(env)) if (/^RESTIC_(REPOSITORY|PASSWORD_FILE|PASSWORD_COMMAND|CACHE_DIR)/.test(k)) delete env[k];
  src = path.join(work, 'src');
  template = path.join(work, 'template');
  resticOk(template, 'init');
  for (let ver = 1; ver <= VERSIONS; ver++) {
    await writeVersion(ver, src);
    resticOk(template, 'backup', '--pack-size', '4', '--host', 'h', '--tag', `v${ver}`, '--time', `2026-0${ver}-01 10:00:00`, src);
  }
  // Forget with our own code: keep the last 3.
  const repo = await Repository.open(new LocalBackend(template), { password: PASSWORD });
  const lock = await repo.lock(true);
  const snaps = await repo.listSnapshots();
  const plan = planForget(snaps, { keepLast: KEEP_LAST }, { now: new Date() });
  assert.equal(plan.remove.length, VERSIONS - KEEP_LAST);
  await forget(repo, plan.remove);
  await lock.release();
  await repo.close();
  for (const s of snaps) {
    if (plan.remove.includes(s.id)) continue;
    remaining.set(s.id, Number(/^v(\d)$/.exec(s.snapshot.tags?.[0] ?? '')?.[1]));
  }
  assert.deepEqual([...remaining.values()].sort(), [3, 4, 5]);
});

interface Trial {
  readonly name: string;
  readonly killedAt: string;
  readonly finished: boolean;
  readonly lockLeft: boolean;
  readonly packs: number;
  readonly indexes: number;
  readonly additional: number;
  readonly restored: number;
}
const trials: Trial[] = [];
let calibration = '';

after(async () => {
  if (trials.length > 0) {
    const rows = trials.map(
      (t) =>
        `${t.name}: killed ${t.killedAt}${t.finished ? ' (had already finished)' : ''}; lock left: ${t.lockLeft ? 'yes, restic unlock removed it' : 'no'}; ` +
        `${t.packs} packs, ${t.indexes} index files; check --read-data clean, ${t.additional} additional pack files; restored ${t.restored} B identically; full prune then completed`,
    );
    process.stdout.write(`# prune crash trials (${calibration}):\n${rows.map((r) => `#   ${r}`).join('\n')}\n`);
  }
  if (work) await fsp.rm(work, { recursive: true, force: true });
});

// ---------- tests ----------

describe('prune against restic 0.14', () => {
  test('planPrune picks the packs restic prune --dry-run picks', async () => {
    const repoDir = await copyTemplate('oracle-plan');
    const r = resticOk(repoDir, 'prune', '--dry-run', '-vv');
    const set = (title: string): string[] => {
      const m = new RegExp(`${title}:\\n\\{([^}]*)\\}`).exec(r.stdout);
      assert.ok(m, `no "${title}" in restic's output:\n${r.stdout}`);
      return m[1]!.split(' ').filter(Boolean).sort();
    };
    const theirRepack = set('Would have repacked and removed the following packs');
    const theirRemove = set('Would have removed the following no longer used packs');
    const repo = await Repository.open(new LocalBackend(repoDir), { password: PASSWORD });
    const plan = await planPrune(repo);
    await repo.close();
    const short = (l: readonly { id: string }[]): string[] => l.map((d) => d.id.slice(0, 8)).sort();
    assert.ok(plan.repack.length > 0 && plan.remove.length + plan.repack.length > 1, `the fixture must exercise repacking: ${JSON.stringify(plan.stats)}`);
    assert.deepEqual(short(plan.repack), theirRepack);
    assert.deepEqual(short(plan.remove), theirRemove);
    const keepLine = /to keep:\s+(\d+) packs/.exec(r.stdout);
    assert.equal(plan.keep.length, Number(keepLine?.[1]));
    assert.equal(plan.unindexed.length, 0);
  });

  test('our prune leaves a repository restic checks clean, restores identically, and smaller', async () => {
    const repoDir = await copyTemplate('oracle-run');
    const before = await du(path.join(repoDir, 'data'));
    const repo = await Repository.open(new LocalBackend(repoDir), { password: PASSWORD });
    const lock = await repo.lock(true);
    const plan = await planPrune(repo);
    const result = await executePrune(repo, plan);
    await lock.release();
    assert.ok(result.blobsCopied > 0 && result.packsDeleted > 0);
    // Our restorer reads what our prune wrote.
    for (const [id, v] of remaining) {
      const target = path.join(work, `ours-${v}`);
      const { snapshot } = await repo.findSnapshot(id);
      const summary = await restore(repo, { snapshot, target, verify: true });
      assert.deepEqual(summary.errors, []);
      assert.deepEqual(sorted(await hashTree(path.join(target, src))), sorted(expected(v)), `our restore of version ${v}`);
      await fsp.rm(target, { recursive: true, force: true });
    }
    await repo.close();
    const afterBytes = await du(path.join(repoDir, 'data'));
    assert.ok(afterBytes < before, `data/ shrank: ${before} -> ${afterBytes} B`);
    assert.equal(await count(path.join(repoDir, 'locks')), 0);
    assert.equal(await count(path.join(repoDir, 'index')), 1);
    assert.equal(checkClean(repoDir), 0, 'no additional files');
    await assertSnapshotsRestore(repoDir, 'oracle');
    // restic, applying the same policy, finds nothing left to delete and nothing to repack: our
    // repacked tree blobs are stored compressed, as restic 0.14 wants them in v2 repositories.
    const again = resticOk(repoDir, 'prune', '--dry-run', '-vv').stdout;
    assert.match(again, /this removes:\s+0 blobs/);
    assert.match(again, /to delete:\s+0 blobs/);
    const wouldRepack = (/Would have repacked and removed the following packs:\n\{([^}]*)\}/.exec(again)?.[1] ?? '').split(' ').filter(Boolean);
    assert.deepEqual(wouldRepack, [], `restic would still repack: ${again}`);
    process.stdout.write(`# oracle prune: ${plan.repack.length} packs repacked (${result.blobsCopied} blobs copied), ${plan.remove.length} removed; data/ ${before} -> ${afterBytes} B\n`);
  });

  test(`a prune SIGKILLed at ${TIME_TRIALS} deterministic-random instants and after every step leaves a valid repository`, async () => {
    // Measure one whole run now (the machine may be busy): times after the child's "ready" line.
    // The first run warms tsx's transform cache and would overstate the time.
    await runChild(await copyTemplate('warm-up'));
    const measure = await runChild(await copyTemplate('measure'));
    assert.equal(measure.code, 0, `measuring run failed:\n${measure.stderr}`);
    const at = (ev: string): number => measure.lines.find((l) => l.ev === ev)!.at;
    const events = measure.lines.filter((l) => l.ev === 'event');
    const tLocked = at('locked');
    const tPlanned = at('planned');
    const tExecuted = at('executed');
    calibration = `measured run: locked ${tLocked} ms, planned ${tPlanned} ms, executed ${tExecuted} ms after start-up; ${events.length} execute events at ${events.map((e) => e.at).join(', ')} ms`;

    const trial = async (name: string, opts: ChildOptions, describeKill: (r: ChildRun) => string): Promise<void> => {
      const repoDir = await copyTemplate(name);
      const r = await runChild(repoDir, opts);
      const finished = r.code === 0;
      assert.ok(finished || r.signal === 'SIGKILL', `${name}: child failed on its own:\n${r.stderr}`);
      const lockLeft = (await count(path.join(repoDir, 'locks'))) > 0;
      if (lockLeft) {
        // restic never skips a lock, even a dead process's: a plain check would fail here.
        assert.notEqual(restic(repoDir, 'check').status, 0, 'restic check refuses while our lock is there');
        resticOk(repoDir, 'unlock');
        assert.equal(await count(path.join(repoDir, 'locks')), 0, 'restic unlock removed our stale lock');
      }
      const packs = await countPacks(repoDir);
      const indexes = await count(path.join(repoDir, 'index'));
      const additional = checkClean(repoDir);
      const restored = await assertSnapshotsRestore(repoDir, name);
      // A full prune then completes (no unlock needed by us) and leaves a clean repository.
      const full = await runChild(repoDir);
      assert.equal(full.code, 0, `${name}: the prune after the kill failed:\n${full.stderr}`);
      assert.equal(checkClean(repoDir), 0, `${name}: no additional files after the full prune`);
      trials.push({ name, killedAt: describeKill(r), finished, lockLeft, packs, indexes, additional, restored });
      await fsp.rm(repoDir, { recursive: true, force: true });
    };
    const lastEvent = (r: ChildRun): string => {
      const l = [...r.lines].reverse().find((x) => x.ev !== 'ready');
      if (!l) return 'before the lock was taken';
      if (l.ev === 'event') return `after event ${String(l.n)} (${String(l.type)}${l.phase ? ' ' + String(l.phase) : ''}${l.file ? ' ' + String(l.file) : ''})`;
      return `after "${l.ev}"`;
    };

    // Stratified deterministic-random instants: one while planning (timed from the lock), the
    // rest spread over the execute phase (timed from the plan, as planning time varies).
    const rnd = prng(SEED);
    for (let i = 0; i < TIME_TRIALS; i++) {
      const [anchor, delay] =
        i === 0 ? ['locked', Math.round(rnd() * (tPlanned - tLocked))] : ['planned', Math.round(((i - 1 + rnd()) / (TIME_TRIALS - 1)) * (tExecuted - tPlanned))];
      await trial(`time-${i + 1}`, { killAfterMs: delay, anchor }, (r) => `${delay} ms after "${anchor}", ${lastEvent(r)}`);
    }

    // Right after the first new pack file is stored, before the index naming it is written.
    await trial('new-pack', { dieAfterPackSave: true }, () => 'right after the first new pack was stored, before its index');
    assert.ok(trials.at(-1)!.additional >= 1, 'the new pack was left unindexed, as intended');

    // Exactly after each kind of step: the first pack repacked, the repack flushed (packs and
    // their index written), the full index written, the first and the last old index deleted,
    // the first pack deleted.
    const idx = (pred: (l: ChildRun['lines'][number]) => boolean, last = false): number | undefined => {
      const l = last ? [...events].reverse().find(pred) : events.find(pred);
      return l ? Number(l.n) : undefined;
    };
    const boundaries: [string, number | undefined][] = [
      ['first pack repacked', idx((l) => l.type === 'repacked')],
      ['repack flushed', idx((l) => l.type === 'phase' && l.phase === 'write-index')],
      ['full index written', idx((l) => l.type === 'index-written', true)],
      ['first old index deleted', idx((l) => l.type === 'deleted' && l.file === 'index')],
      ['last old index deleted', idx((l) => l.type === 'deleted' && l.file === 'index', true)],
      ['first pack deleted', idx((l) => l.type === 'deleted' && l.file === 'pack')],
    ];
    for (const [what, n] of boundaries) {
      assert.ok(n !== undefined, `the measured run had no "${what}" step`);
      await trial(`step-${n}`, { dieAt: n }, () => `right after ${what} (event ${n})`);
    }
    const landed = trials.filter((t) => t.name.startsWith('time-') && !t.finished).length;
    assert.ok(landed >= TIME_TRIALS / 2, `only ${landed} of ${TIME_TRIALS} timed kills landed before the prune finished`);
  });
});
