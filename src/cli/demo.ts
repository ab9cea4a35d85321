/**
 * `lifeboat demo`: the README's first command. On any machine with nothing else set up it
 * builds a small sample server tree (configs, receipts, media, a SQL dump), backs it up into a
 * fresh encrypted repository in a local folder, backs up a database dump through --stdin,
 * shows the snapshots, restores one file and compares it byte for byte, and runs a full check.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { LocalBackend } from '../core/backend/local-backend.ts';
import { Repository } from '../core/repository/repository.ts';
import { backup } from '../core/archiver/archiver.ts';
import { restore } from '../core/restorer/restorer.ts';
import { check } from '../core/checker/checker.ts';
import { compilePatterns } from '../core/filter/index.ts';
import { LifeboatError } from '../core/errors.ts';
import { fmtBytes } from './progress.ts';

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

export async function runDemo(args: string[], print: (s: string) => void): Promise<number> {
  const dirArg = args[args.indexOf('--dir') + 1];
  const base = args.includes('--dir') && dirArg ? path.resolve(dirArg) : mkdtempSync(path.join(tmpdir(), 'lifeboat-demo-'));
  mkdirSync(base, { recursive: true });
  const server = path.join(base, 'server');
  const repoDir = path.join(base, 'backups', 'repository');
  const restoreDir = path.join(base, 'restore-test');
  rmSync(repoDir, { recursive: true, force: true });
  rmSync(restoreDir, { recursive: true, force: true });
  mkdirSync(path.dirname(repoDir), { recursive: true });
  const pwFile = path.join(base, 'password');
  writeFileSync(pwFile, randomBytes(18).toString('base64') + '\n', { mode: 0o600 });
  const password = readFileSync(pwFile, 'utf8').trim();

  print(`lifeboat demo in ${base}`);
  writeSampleServer(server);
  print(`1. sample server tree written to ${server}`);

  const repo = await Repository.init(new LocalBackend(repoDir), password);
  print(`2. encrypted repository ${repo.config.id.slice(0, 10)} created at ${repoDir} (restic format v2; password in ${pwFile})`);
  try {
    await repo.loadIndex();
    const excludes = ['*.tmp', '*.bak', '*/.cache/'];
    const s1 = await backup(repo, { paths: [server], exclude: compilePatterns(excludes, {}), excludePatterns: excludes, tags: ['demo'] });
    print(`3. backup ${s1.snapshotId.slice(0, 8)}: ${s1.filesNew} files, ${fmtBytes(s1.totalBytesProcessed)} read, ${fmtBytes(s1.dataAdded)} stored (excluded: ${excludes.join(' ')})`);
    const s2 = await backup(repo, { stdin: { stream: Readable.from([Buffer.from(sqlDump())]), filename: 'postgres.sql' }, tags: ['demo', 'database'] });
    print(`4. database dump via --stdin: snapshot ${s2.snapshotId.slice(0, 8)}, ${fmtBytes(s2.totalBytesProcessed)}`);
    const s3 = await backup(repo, { paths: [server], exclude: compilePatterns(excludes, {}), excludePatterns: excludes, tags: ['demo'] });
    print(`5. second backup ${s3.snapshotId.slice(0, 8)}: ${s3.filesUnmodified} files unchanged and not re-read, ${fmtBytes(s3.dataAdded)} added`);

    print('6. snapshots:');
    for (const { id, snapshot } of await repo.listSnapshots()) print(`     ${id.slice(0, 8)}  ${snapshot.time.slice(0, 19)}  ${(snapshot.tags ?? []).join(',').padEnd(14)} ${snapshot.paths.join(' ')}`);

    const one = 'srv/business/receipts/2025-03.pdf';
    const sn = await repo.loadSnapshot(s3.snapshotId);
    const r = await restore(repo, { snapshot: sn, target: restoreDir, include: compilePatterns(['/' + path.join(server, one).replace(/^\//, '')], {}), verify: true });
    const restored = path.join(restoreDir, server, one);
    const same = createHash('sha256').update(readFileSync(restored)).digest('hex') === createHash('sha256').update(readFileSync(path.join(server, one))).digest('hex');
    if (!same || r.errors.length > 0) throw new LifeboatError('INTEGRITY', `restored ${one} differs from the original`);
    print(`7. restored ${one} to ${restored}: identical to the original (sha256 compared)`);

    const c = await check(repo, { readData: { n: 1, m: 1 } });
    if (c.errors.length > 0) throw new LifeboatError('INTEGRITY', `check found ${c.errors.length} errors: ${c.errors[0]?.message}`);
    print(`8. check --read-data: ${c.snapshots} snapshots, ${c.packs} packs, ${c.blobs} blobs, no errors`);
    print('');
    print('The repository is plain restic format; with restic installed you can also run:');
    print(`  restic -r ${repoDir} --password-file ${pwFile} snapshots`);
    return 0;
  } finally {
    await repo.close();
  }
}
