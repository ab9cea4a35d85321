import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfigText, type LoadResult } from './load-config.ts';
import { STARTER_PROBES, starterConfig } from './starter.ts';

/** Parses the starter against a machine where exactly `present` exists. */
async function load(text: string, present: (path: string) => boolean): Promise<LoadResult> {
  return parseConfigText(text, 'lifeboat.yaml', { readFile: async () => '*.tmp\n*/.cache/\n', exists: present, env: {} });
}

const ALL_SOURCES = ['nixos-config', 'receipts', 'postgres', 'secrets', 'samba-share', 'media', 'surveillance', 'scripts'];

describe('starterConfig', () => {
  it('on a machine with every usual place: all sources active, zero problems, zero warnings', async () => {
    const text = starterConfig(() => true);
    const r = await load(text, () => true);
    assert.deepEqual(r.problems, []);
    assert.deepEqual(r.warnings, []);
    assert.deepEqual(r.config.sources.map((s) => s.name), ALL_SOURCES);
    assert.deepEqual(r.config.destinations.map((d) => [d.name, d.kind, d.format]), [
      ['usb-media', 'usb', 'repository'],
      ['nas', 'nas', 'repository'],
      ['usb-share', 'usb', 'mirror'],
    ]);
    const usb = r.config.destinations[0];
    assert.ok(usb?.kind === 'usb');
    assert.equal(usb.label, 'BU-2025-MEDIA');
    assert.equal(r.config.destinations[1]?.root, '/mnt/backup-nas/lifeboat');
    const nixos = r.config.sources[0];
    assert.deepEqual(nixos?.kind === 'paths' && nixos.exclude_from, ['/etc/nixos/backup_excludes.txt']);
    const secrets = r.config.sources.find((s) => s.name === 'secrets');
    assert.deepEqual([secrets?.priority, secrets?.sensitive], ['critical', true]);
    const share = r.config.sources.find((s) => s.name === 'samba-share');
    assert.ok(share?.kind === 'paths' && share.min_files === 1 && share.destinations.includes('usb-share'));
  });

  it('on an empty machine: every source commented out, and it still parses clean', async () => {
    const text = starterConfig(() => false);
    const r = await load(text, () => false);
    assert.deepEqual(r.problems, []);
    assert.deepEqual(r.config.sources, []);
    assert.match(text, /^sources: \{\}/m);
    for (const name of ALL_SOURCES) assert.match(text, new RegExp(`^  # ${name}:`, 'm'), name);
    // The share's mirror has nothing to hold, so it is commented out too.
    assert.deepEqual(r.config.destinations.map((d) => d.name), ['usb-media', 'nas']);
    assert.deepEqual(r.warnings.map((w) => w.code), ['UNUSED_DESTINATION', 'UNUSED_DESTINATION']);
  });

  it('activates only the sources whose paths exist, given as a list of looked-up paths', async () => {
    const present = new Set(['/etc/nixos', '/etc/sops', '/var/lib/postgresql']);
    const found = STARTER_PROBES.map((path) => ({ path, exists: present.has(path) }));
    const text = starterConfig(found);
    const r = await load(text, (p) => present.has(p));
    assert.deepEqual(r.problems, []);
    assert.deepEqual(r.config.sources.map((s) => s.name), ['nixos-config', 'postgres', 'secrets']);
    assert.match(text, /^ {2}# receipts: {3}\(\/srv\/business\/receipts not found\)$/m);
    // The excludes file is absent, so the line is there to uncomment, not active.
    assert.match(text, /^ {4}# exclude_from: \/etc\/nixos\/backup_excludes\.txt/m);
    const nixos = r.config.sources[0];
    assert.deepEqual(nixos?.kind === 'paths' && nixos.exclude_from, []);
  });

  it('dumps PostgreSQL as the postgres user, without a shell', async () => {
    const r = await load(starterConfig(() => true), () => true);
    const pg = r.config.sources.find((s) => s.name === 'postgres');
    assert.ok(pg?.kind === 'command');
    assert.deepEqual(pg.command.argv, ['runuser', '-u', 'postgres', '--', 'pg_dumpall', '--clean']);
    assert.equal(pg.filename, 'postgres.sql');
  });

  it('is deterministic and opens with an explanation', () => {
    const a = starterConfig(() => true);
    assert.equal(a, starterConfig(() => true));
    assert.match(a, /^# lifeboat configuration/);
    for (const line of a.split('\n')) assert.ok(line.length <= 100, `long line: ${line}`);
  });
});
