/**
 * `lifeboat demo`: the README's first command, the main job on an embedded default. It builds
 * a small sample server tree (configs, receipts, media, a SQL dump produced by a command),
 * writes a demo coverage map with two local destinations (an encrypted repository and a plain
 * mirror), enrolls them, runs every cell twice, shows the status, restores one file and compares
 * it byte for byte, and checks the repository.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { LocalBackend } from '../core/backend/index.ts';
import { Repository } from '../core/repository/repository.ts';
import { loadConfigOrThrow } from '../config/index.ts';
import { systemProbe } from '../ops/devices/index.ts';
import { StateStore } from '../ops/state/state-store.ts';
import { runCoverage } from '../ops/jobs/run-coverage.ts';
import { coverageStatus } from '../ops/jobs/coverage-status.ts';
import { enrollDestination } from '../ops/jobs/enroll.ts';
import { restore } from '../core/restorer/restorer.ts';
import { check } from '../core/checker/checker.ts';
import { compilePatterns } from '../core/filter/index.ts';
import { LifeboatError } from '../core/errors.ts';
import { fmtBytes, plural } from './progress.ts';

function prng(seed: number): (n: number) => Buffer {
  let s = seed >>> 0;
  return (n) => {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      b[i] = s >>> 24;
    }
    return b;
  };
}

function writeSampleServer(root: string): string {
  const rnd = prng(42);
  const put = (rel: string, data: string | Buffer): void => {
    const p = path.join(root, rel);
    mkdirSync(path.dirname(p), { recursive: true });
    writeFileSync(p, data);
  };
  put('etc/nixos/configuration.nix', '{ config, pkgs, ... }:\n{\n  services.samba.enable = true;\n  services.postgresql.enable = true;\n}\n');
  put('etc/nixos/hardware-configuration.nix', '{ ... }: { fileSystems."/".device = "/dev/disk/by-label/nixos"; }\n');
  put('etc/nixos/backup_excludes.txt', '*.tmp\n*.bak\n*/.cache/\n');
  for (let i = 1; i <= 12; i++) put(`srv/business/receipts/2025-${String(i).padStart(2, '0')}.pdf`, rnd(20_000 + i * 997));
  put('srv/business/receipts/draft.tmp', 'scratch\n');
  for (let i = 1; i <= 4; i++) put(`mnt/media/photos/IMG_${1000 + i}.jpg`, rnd(700_000));
  put('mnt/media/music/.cache/thumbs.db', rnd(10_000));
  put('srv/share/README.txt', 'Shared with the Windows laptop.\n');
  return root;
}

function sqlDump(): string {
  const rows = Array.from({ length: 2000 }, (_, i) => `INSERT INTO receipts VALUES (${i}, '2025-01-${String((i % 28) + 1).padStart(2, '0')}', ${(i * 7.31).toFixed(2)});`);
  return `-- demo PostgreSQL dump\nCREATE TABLE receipts (id int, day date, amount numeric);\n${rows.join('\n')}\n`;
}

function demoConfig(base: string, server: string): string {
  return `# lifeboat demo coverage map (written by \`lifeboat demo\`)
state_dir: ${base}/state
destinations:
  vault:                        # encrypted, deduplicated, restic format v2
    kind: local
    path: ${base}/backups/vault
    format: repository
    password_file: ${base}/password
    retention: { keep_daily: 7, keep_weekly: 4 }
  plain-copy:                   # plain files a Windows or Mac machine can read
    kind: local
    path: ${base}/backups/plain-copy
    format: mirror
sources:
  nixos-config:
    paths: [${server}/etc/nixos]
    priority: high
    frequency: daily
    destinations: [vault, plain-copy]
    exclude_from: ${server}/etc/nixos/backup_excludes.txt
  receipts:
    paths: [${server}/srv/business/receipts]
    priority: high
    frequency: daily
    destinations: [vault, plain-copy]
    exclude: ['*.tmp']
  media:
    paths: [${server}/mnt/media]
    priority: medium
    frequency: weekly
    destinations: [vault]
    exclude: ['*/.cache/']
  postgres:
    command: cat ${server}/dump.sql   # stands in for pg_dumpall --clean
    filename: postgres.sql
    priority: high
    frequency: daily
    destinations: [vault, plain-copy]
`;
}

export async function runDemo(args: string[], print: (s: string) => void): Promise<number> {
  const dirArg = args[args.indexOf('--dir') + 1];
  const base = args.includes('--dir') && dirArg ? path.resolve(dirArg) : mkdtempSync(path.join(tmpdir(), 'lifeboat-demo-'));
  mkdirSync(base, { recursive: true });
  const server = path.join(base, 'server');
  const restoreDir = path.join(base, 'restore-test');
  for (const d of ['backups', 'state', 'restore-test']) rmSync(path.join(base, d), { recursive: true, force: true });
  mkdirSync(path.join(base, 'backups'), { recursive: true });
  const pwFile = path.join(base, 'password');
  writeFileSync(pwFile, randomBytes(18).toString('base64') + '\n', { mode: 0o600 });

  print(`lifeboat demo in ${base}`);
  writeSampleServer(server);
  writeFileSync(path.join(server, 'dump.sql'), sqlDump());
  const cfgFile = path.join(base, 'lifeboat.yaml');
  writeFileSync(cfgFile, demoConfig(base, server));
  print(`1. sample server tree in ${server}; coverage map in ${cfgFile}`);
  const deps = { readFile: (p: string) => readFile(p, 'utf8'), exists: (p: string) => existsSync(p), env: {} };
  const { config, warnings } = await loadConfigOrThrow(cfgFile, deps);
  for (const w of warnings) print(`   policy: ${w.message}`);
  const probe = systemProbe();
  const state = StateStore.open(config.state_dir);
  try {
    for (const d of config.destinations) {
      const r = await enrollDestination(config, d.name, { probe, state, hostname: hostname() });
      print(`2. enrolled ${d.name} (${d.format}) at ${r.root}${r.repositoryId ? `, repository ${r.repositoryId.slice(0, 10)}` : ''}`);
    }
    for (const round of [1, 2]) {
      if (round === 2) writeFileSync(path.join(server, 'srv/business/receipts/2025-12.pdf'), prng(7)(33_333));
      const results = await runCoverage(config, {}, { probe, state, env: {}, hostname: hostname() });
      const failed = results.filter((r) => r.outcome !== 'success');
      if (failed.length > 0) throw new LifeboatError('IO', `demo run failed: ${failed.map((f) => `${f.source} -> ${f.destination}: ${f.error}`).join('; ')}`);
      print(`${round + 2}. run ${round}: ${results.length} cells OK, ${fmtBytes(results.reduce((a, r) => a + r.bytes, 0))} written${round === 2 ? ' (unchanged files not re-read; one new receipt)' : ''}`);
    }
    const report = await coverageStatus(config, { probe, state });
    print('5. status:');
    for (const c of report.cells) print(`     ${c.state.padEnd(6)} ${c.source.padEnd(13)} -> ${c.destination.padEnd(11)} ${c.snapshots === null ? 'mirror' : plural(c.snapshots, 'snapshot')}`);
    for (const w of report.warnings) print(`     ${w.level}: ${w.message}`);

    const vault = config.destinations.find((d) => d.name === 'vault')!;
    const repo = await Repository.open(new LocalBackend(vault.root), { password: readFileSync(pwFile, 'utf8').trim() });
    try {
      await repo.loadIndex();
      const one = 'srv/business/receipts/2025-03.pdf';
      const { id, snapshot } = await repo.findSnapshot('latest', { paths: [path.join(server, 'srv/business/receipts')] });
      const r = await restore(repo, { snapshot, target: restoreDir, include: compilePatterns([path.join(server, one)]), verify: true });
      const restored = path.join(restoreDir, server, one);
      const same = createHash('sha256').update(readFileSync(restored)).digest('hex') === createHash('sha256').update(readFileSync(path.join(server, one))).digest('hex');
      if (!same || r.errors.length > 0) throw new LifeboatError('INTEGRITY', `restored ${one} differs from the original`);
      print(`6. restored ${one} from snapshot ${id.slice(0, 8)} to ${restored}: identical (sha256)`);
      const c = await check(repo, { readData: { n: 1, m: 1 } });
      if (c.errors.length > 0) throw new LifeboatError('INTEGRITY', `check found ${c.errors.length} errors: ${c.errors[0]?.message}`);
      print(`7. check --read-data of vault: ${plural(c.snapshots, 'snapshot')}, ${plural(c.packs, 'pack')}, ${plural(c.blobs, 'blob')}, no errors`);
    } finally {
      await repo.close();
    }
    print('');
    print('Try next:');
    print(`  ./bin/lifeboat status --config ${cfgFile}`);
    print(`  ./bin/lifeboat repo snapshots --repo ${vault.root} --password-file ${pwFile}`);
    print(`  restic -r ${vault.root} --password-file ${pwFile} snapshots     # plain restic reads it too`);
    return 0;
  } finally {
    state.close();
  }
}
