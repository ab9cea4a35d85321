/**
 * Oracle: restic 0.14's own `forget --dry-run --json` decides on the same snapshots as
 * planForget, for several policies. The repository is made by restic (a few real backups with
 * `--time`), then ~36 more snapshot files are written by our engine with chosen times (zone
 * offsets, ISO-week and month edges, a snapshot in the future), hosts, path sets and tags, all
 * pointing at restic's tree. Kept ids (in order), removed ids and the reasons must be equal.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LocalBackend } from '../backend/index.ts';
import { Repository } from '../repository/repository.ts';
import { encodeSnapshot } from '../format/snapshot.ts';
import type { Id } from '../ids.ts';
import { planForget } from './plan-forget.ts';
import type { ForgetPolicy } from './forget-policy.ts';
import { xorshift32Unit as prng } from '../../../test/support/prng.ts';

const PASSWORD = 'retention oracle';
let tmp: string;
let repoDir: string;
let env: NodeJS.ProcessEnv;

function restic(...args: string[]): string {
  const r = spawnSync('restic', ['-r', repoDir, ...args], { env, encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, `restic ${args.join(' ')} exited ${r.status}\n${r.stderr}`);
  return r.stdout;
}

const pad = (n: number, w = 2) => String(Math.abs(n)).padStart(w, '0');
function rfc(ms: number, offsetMin: number): string {
  const d = new Date(ms + offsetMin * 60_000);
  const base = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  const frac = ms % 1000 === 0 ? '' : '.' + pad(ms % 1000, 3) + '123';
  if (offsetMin === 0) return base + frac + 'Z';
  return `${base}${frac}${offsetMin < 0 ? '-' : '+'}${pad(Math.floor(Math.abs(offsetMin) / 60))}:${pad(Math.abs(offsetMin) % 60)}`;
}

before(async () => {
  const v = spawnSync('restic', ['version'], { encoding: 'utf8' });
  assert.match(v.stdout ?? '', /^restic 0\.14\./, 'this oracle test needs restic 0.14 on PATH');
  tmp = mkdtempSync(path.join(tmpdir(), 'lifeboat-retention-'));
  repoDir = path.join(tmp, 'repo');
  env = { ...process.env, RESTIC_PASSWORD: PASSWORD, RESTIC_CACHE_DIR: path.join(tmp, 'cache'), TZ: 'UTC' };
  for (const k of Object.keys(env)) if (/^RESTIC_(REPOSITORY|PASSWORD_FILE|PASSWORD_COMMAND)/.test(k)) delete env[k];
  const src = path.join(tmp, 'src');
  mkdirSync(src);
  writeFileSync(path.join(src, 'file'), 'tiny\n');
  restic('init');
  for (const t of ['2026-01-01 10:00:00', '2026-01-01 11:30:00', '2026-02-14 08:00:00']) restic('backup', '--time', t, '--host', 'h1', src);
  const tree = (JSON.parse(restic('snapshots', '--json')) as { tree: string }[])[0]!.tree as Id;

  const repo = await Repository.open(new LocalBackend(repoDir), { password: PASSWORD });
  const rnd = prng(0x2026);
  const times: [number, number][] = [
    // ISO-week and year edges, an hour edge, offsets that move the day, month ends
    [Date.UTC(2025, 11, 28, 23, 0), 0],
    [Date.UTC(2025, 11, 29, 1, 0), 0],
    [Date.UTC(2026, 0, 4, 22, 59, 59), 0],
    [Date.UTC(2026, 0, 4, 23, 0, 1), 120], // 2026-01-05 01:00 on its wall clock: a Monday
    [Date.UTC(2026, 1, 28, 23, 30), -300], // still Feb 28 locally
    [Date.UTC(2026, 2, 1, 0, 30), 0],
    [Date.UTC(2026, 2, 31, 10, 0, 0, 250), 60],
    [Date.UTC(2026, 2, 31, 10, 59), 60],
    [Date.UTC(2026, 2, 31, 11, 0), 60],
    [Date.UTC(2027, 5, 1), 0], // in the future: ignored as "newest" by keep-within
  ];
  for (let i = 0; i < 26; i++) times.push([Date.UTC(2025, 5, 1) + Math.floor(rnd() * 500 * 86400) * 1000, [0, 0, 60, -420, 330][i % 5]!]);
  const hosts = ['h1', 'h1', 'h1', 'h2'];
  for (const [i, [ms, off]] of times.entries()) {
    const paths = i % 7 === 3 ? ['/srv', src] : [src];
    const tags = i % 4 === 0 ? ['daily'] : i % 4 === 1 ? ['daily', 'db'] : i % 9 === 2 ? ['db'] : undefined;
    await repo.saveUnpacked('snapshot', encodeSnapshot({ time: rfc(ms, off), tree, paths, hostname: hosts[i % 4]!, ...(tags ? { tags } : {}) }));
  }
  await repo.close();
});

after(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

interface ResticGroup {
  host: string;
  paths: string[] | null;
  tags: string[] | null;
  keep: { id: string }[] | null;
  remove: { id: string }[] | null;
  reasons: { snapshot: { time: string }; matches: string[] }[] | null;
}

const POLICIES: { flags: string[]; policy: ForgetPolicy; groupBy?: string }[] = [
  { flags: ['--keep-daily', '3', '--keep-weekly', '2', '--keep-monthly', '2', '--keep-last', '2'], policy: { keepDaily: 3, keepWeekly: 2, keepMonthly: 2, keepLast: 2 } },
  { flags: ['--keep-hourly', '4', '--keep-yearly', '3'], policy: { keepHourly: 4, keepYearly: 3 } },
  { flags: ['--keep-weekly', '5'], policy: { keepWeekly: 5 }, groupBy: '' },
  { flags: ['--keep-within', '1m15d', '--keep-last', '1'], policy: { keepWithin: { months: 1, days: 15 }, keepLast: 1 } },
  { flags: ['--keep-within', '1y2h'], policy: { keepWithin: { years: 1, hours: 2 } }, groupBy: 'host' },
  { flags: ['--keep-tag', 'daily,db', '--keep-tag', 'nosuch', '--keep-monthly', '1'], policy: { keepTags: ['daily,db', 'nosuch'], keepMonthly: 1 } },
  { flags: ['--keep-within-daily', '40d', '--keep-within-weekly', '3m', '--keep-yearly', '1'], policy: { keepWithinDaily: { days: 40 }, keepWithinWeekly: { months: 3 }, keepYearly: 1 }, groupBy: 'host,paths,tags' },
  { flags: ['--keep-daily', '100'], policy: { keepDaily: 100 }, groupBy: 'tags' },
];

describe('planForget agrees with restic 0.14 forget --dry-run', () => {
  for (const { flags, policy, groupBy } of POLICIES) {
    test(`${flags.join(' ')}${groupBy !== undefined ? ` --group-by '${groupBy}'` : ''}`, async () => {
      const args = ['forget', '--dry-run', '--json', ...flags, ...(groupBy !== undefined ? ['--group-by', groupBy] : [])];
      const theirs = JSON.parse(restic(...args)) as ResticGroup[];
      const repo = await Repository.open(new LocalBackend(repoDir), { password: PASSWORD });
      const snaps = await repo.listSnapshots();
      await repo.close();
      assert.ok(snaps.length >= 36);
      const ours = planForget(snaps, policy, { now: new Date(), ...(groupBy !== undefined ? { groupBy } : {}) });
      const norm = (host: string | undefined, paths: readonly string[] | null | undefined, tags: readonly string[] | null | undefined) =>
        JSON.stringify([host ?? '', paths ?? null, tags ?? null]);
      const theirGroups = new Map(theirs.map((g) => [norm(g.host, g.paths, g.tags), g]));
      assert.equal(ours.groups.length, theirGroups.size);
      let removed = 0;
      for (const g of ours.groups) {
        const t = theirGroups.get(norm(g.hostname, g.paths, g.tags));
        assert.ok(t, `restic has no group ${g.key}`);
        assert.deepEqual(g.keep.map((k) => k.id), (t.keep ?? []).map((k) => k.id), `kept ids of ${g.key}`);
        assert.deepEqual(g.remove.map((k) => k.id), (t.remove ?? []).map((k) => k.id), `removed ids of ${g.key}`);
        assert.deepEqual(g.keep.map((k) => k.reasons), (t.reasons ?? []).map((r) => r.matches), `reasons of ${g.key}`);
        removed += g.remove.length;
      }
      // The policies must exercise both outcomes, or the comparison proves little.
      if (!flags.includes('100')) assert.ok(removed > 0, 'policy removes nothing');
    });
  }
});
