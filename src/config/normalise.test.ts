import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Destination, Source } from './config.ts';
import { parseConfigText } from './load-config.ts';
import type { Problem } from './problem.ts';

const deps = { readFile: async (): Promise<string> => '', exists: (): boolean => true, env: {} };

/** Loads one destination (and a source using it) from YAML lines. */
async function destination(lines: string): Promise<{ d: Destination | undefined; problems: readonly Problem[] }> {
  const text = `destinations:\n  d:\n${indent(lines, 4)}sources:\n  s:\n    paths: [/srv]\n    priority: low\n    frequency: daily\n    destinations: [d]\n`;
  const r = await parseConfigText(text, 'c.yaml', deps);
  return { d: r.config.destinations[0], problems: r.problems };
}

async function source(lines: string): Promise<{ s: Source | undefined; problems: readonly Problem[] }> {
  const text = `destinations:\n  d:\n    kind: local\n    path: /backup\n    format: mirror\nsources:\n  s:\n${indent(lines, 4)}`;
  const r = await parseConfigText(text, 'c.yaml', deps);
  return { s: r.config.sources[0], problems: r.problems };
}

function indent(lines: string, n: number): string {
  return lines
    .trim()
    .split('\n')
    .map((l) => `${' '.repeat(n)}${l.trim()}\n`)
    .join('');
}

const codes = (problems: readonly Problem[]): string[] => problems.map((p) => `${p.path} ${p.code}`);

describe('normalise: destinations', () => {
  it('mounts a usb drive at /mnt/lifeboat/<label> and keeps the repository in lifeboat/', async () => {
    const { d, problems } = await destination('kind: usb\nlabel: BU-2025-MEDIA\npassword_file: /run/secrets/p');
    assert.deepEqual(problems, []);
    assert.ok(d?.kind === 'usb' && d.format === 'repository');
    assert.equal(d.mountpoint, '/mnt/lifeboat/BU-2025-MEDIA');
    assert.equal(d.subdir, 'lifeboat');
    assert.equal(d.root, '/mnt/lifeboat/BU-2025-MEDIA/lifeboat');
    assert.equal(d.uuid, undefined);
  });

  it('names the default mountpoint after the destination when only a uuid is known or the label is unfit', async () => {
    const byUuid = await destination('kind: usb\nuuid: 0f3e-12AB\nformat: mirror');
    assert.equal(byUuid.d?.kind === 'usb' && byUuid.d.mountpoint, '/mnt/lifeboat/d');
    const spaced = await destination('kind: usb\nlabel: MY DRIVE\nformat: mirror');
    assert.equal(spaced.d?.kind === 'usb' && spaced.d.mountpoint, '/mnt/lifeboat/d');
  });

  it('puts nas and local roots at path, plus subdir when one is given', async () => {
    const nas = await destination('kind: nas\npath: /mnt/backup-nas/lifeboat/\nmountpoint: /mnt/backup-nas\nformat: mirror');
    assert.deepEqual(nas.problems, []);
    assert.ok(nas.d?.kind === 'nas');
    assert.equal(nas.d.root, '/mnt/backup-nas/lifeboat');
    assert.equal(nas.d.mountpoint, '/mnt/backup-nas');
    const local = await destination('kind: local\npath: /srv/backup\nsubdir: host1/\nformat: mirror');
    assert.equal(local.d?.root, '/srv/backup/host1');
    assert.equal(local.d?.subdir, 'host1');
    const usbAtTop = await destination('kind: usb\nlabel: X\nsubdir: ""\nformat: mirror');
    assert.equal(usbAtTop.d?.root, '/mnt/lifeboat/X');
  });

  it('reads a full repository: password command, retention, stale_after', async () => {
    const { d, problems } = await destination(`kind: local
path: /srv/backup
password_command: [pass, show, lifeboat]
retention: {keep_daily: 7, keep_within: 1y6m, keep_tags: [keep]}
stale_after: 36h`);
    assert.deepEqual(problems, []);
    assert.ok(d?.format === 'repository');
    assert.deepEqual(d.password, { kind: 'command', command: { argv: ['pass', 'show', 'lifeboat'], shell: false, text: 'pass show lifeboat' } });
    assert.deepEqual(d.retention, {
      keep_last: 0,
      keep_hourly: 0,
      keep_daily: 7,
      keep_weekly: 0,
      keep_monthly: 0,
      keep_yearly: 0,
      keep_within: { text: '1y6m', years: 1, months: 6, days: 0, hours: 0, seconds: 545 * 86400 },
      keep_tags: ['keep'],
    });
    assert.equal(d.stale_after?.seconds, 36 * 3600);
  });

  it('requires exactly one password source for a repository and none for a mirror', async () => {
    const none = await destination('kind: local\npath: /b');
    assert.deepEqual(codes(none.problems), ['destinations.d.password_file MISSING_FIELD']);
    const both = await destination('kind: local\npath: /b\npassword_file: /p\npassword_command: cat /p');
    assert.deepEqual(codes(both.problems), ['destinations.d.password_command CONFLICT']);
    const mirror = await destination('kind: local\npath: /b\nformat: mirror\npassword_file: /p\nretention: {keep_last: 3}');
    assert.deepEqual(codes(mirror.problems), ['destinations.d.password_file CONFLICT', 'destinations.d.retention CONFLICT']);
  });

  it('requires a label or uuid for a usb drive', async () => {
    const { problems } = await destination('kind: usb\nmountpoint: /mnt/usb\nformat: mirror');
    assert.deepEqual(codes(problems), ['destinations.d.label MISSING_FIELD']);
  });

  it('reports a missing drive identity and a missing password together', async () => {
    const { d, problems } = await destination('kind: usb\nmountpoint: /mnt/usb\nstale_after: soon');
    assert.deepEqual(codes(problems), ['destinations.d.label MISSING_FIELD', 'destinations.d.password_file MISSING_FIELD', 'destinations.d.stale_after BAD_DURATION']);
    assert.equal(d, undefined);
  });

  it('requires a nas path inside its mountpoint', async () => {
    const { problems } = await destination('kind: nas\npath: /srv/elsewhere\nmountpoint: /mnt/backup-nas\nformat: mirror');
    assert.deepEqual(codes(problems), ['destinations.d.path BAD_VALUE']);
  });

  it('refuses keys of other kinds and subdirs that climb out', async () => {
    const { problems } = await destination('kind: local\npath: /b\nlabel: X\nsubdir: ../up\nformat: mirror');
    assert.deepEqual(codes(problems), ['destinations.d.label UNKNOWN_KEY', 'destinations.d.subdir BAD_VALUE']);
    assert.equal(problems[0]?.hint, '"label" is for usb destinations');
  });

  it('asks for a kind when there is none', async () => {
    const { problems } = await destination('path: /b\nformat: mirror');
    assert.deepEqual(codes(problems), ['destinations.d.kind MISSING_FIELD']);
    assert.equal(problems[0]?.hint, 'one of usb, nas, local');
  });
});

describe('normalise: sources', () => {
  it('defaults the optional keys', async () => {
    const { s, problems } = await source('paths: [/srv/data/, /etc//x]\npriority: low\nfrequency: manual\ndestinations: [d]');
    assert.deepEqual(problems, []);
    assert.ok(s?.kind === 'paths');
    assert.deepEqual(s.paths, ['/srv/data', '/etc/x']);
    assert.deepEqual([s.exclude, s.exclude_from, s.tags], [[], [], []]);
    assert.deepEqual([s.sensitive, s.must_be_mountpoint, s.min_files], [false, false, 0]);
    assert.equal(s.frequency.kind, 'manual');
  });

  it('takes exclude_from as one path or a list', async () => {
    const one = await source('paths: [/a]\npriority: low\nfrequency: daily\ndestinations: [d]\nexclude_from: /etc/x');
    assert.deepEqual(one.s?.kind === 'paths' && one.s.exclude_from, ['/etc/x']);
    const two = await source('paths: [/a]\npriority: low\nfrequency: daily\ndestinations: [d]\nexclude_from: [/etc/x, /etc/y]');
    assert.deepEqual(two.s?.kind === 'paths' && two.s.exclude_from, ['/etc/x', '/etc/y']);
  });

  it('runs a string command through /bin/sh -c and a list without a shell', async () => {
    const sh = await source("command: pg_dumpall --clean | gzip\nfilename: pg.sql.gz\npriority: high\nfrequency: '*:0/15'\ndestinations: [d]");
    assert.deepEqual(sh.problems, []);
    assert.ok(sh.s?.kind === 'command');
    assert.deepEqual(sh.s.command.argv, ['/bin/sh', '-c', 'pg_dumpall --clean | gzip']);
    assert.equal(sh.s.frequency.kind === 'calendar' && sh.s.frequency.intervalSeconds, 900);
    const argv = await source('command: [pg_dump, -Fc, app]\nfilename: app.dump\npriority: high\nfrequency: daily\ndestinations: [d]');
    assert.ok(argv.s?.kind === 'command');
    assert.deepEqual(argv.s.command, { argv: ['pg_dump', '-Fc', 'app'], shell: false, text: 'pg_dump -Fc app' });
  });

  it('wants paths or a command, not both, and filename only with a command', async () => {
    const neither = await source('priority: low\nfrequency: daily\ndestinations: [d]');
    assert.deepEqual(codes(neither.problems), ['sources.s.paths MISSING_FIELD']);
    const both = await source('paths: [/a]\ncommand: x\npriority: low\nfrequency: daily\ndestinations: [d]');
    assert.deepEqual(codes(both.problems), ['sources.s.command CONFLICT']);
    const stray = await source('paths: [/a]\nfilename: a.txt\npriority: low\nfrequency: daily\ndestinations: [d]');
    assert.deepEqual(codes(stray.problems), ['sources.s.filename CONFLICT']);
    const guards = await source('command: x\nfilename: x.out\nmin_files: 1\nexclude: ["*.tmp"]\npriority: low\nfrequency: daily\ndestinations: [d]');
    assert.deepEqual(codes(guards.problems), ['sources.s.min_files CONFLICT', 'sources.s.exclude CONFLICT']);
  });

  it('takes age_identity as an absolute path, on a paths or a command source', async () => {
    const paths = await source('paths: [/etc/sops]\npriority: critical\nfrequency: daily\ndestinations: [d]\nage_identity: /var/lib/sops-nix//key.txt');
    assert.deepEqual(paths.problems, []);
    assert.equal(paths.s?.age_identity, '/var/lib/sops-nix/key.txt');
    const cmd = await source('command: [tar, c, /etc/age]\nfilename: age.tar\npriority: low\nfrequency: daily\ndestinations: [d]\nage_identity: /root/key.txt');
    assert.equal(cmd.s?.age_identity, '/root/key.txt');
    const none = await source('paths: [/a]\npriority: low\nfrequency: daily\ndestinations: [d]');
    assert.equal(none.s?.age_identity, undefined);
    const relative = await source('paths: [/a]\npriority: low\nfrequency: daily\ndestinations: [d]\nage_identity: key.txt');
    assert.deepEqual(codes(relative.problems), ['sources.s.age_identity BAD_VALUE']);
    assert.match(relative.problems[0]?.message ?? '', /must be an absolute path/);
  });

  it('refuses empty commands, bad file names and bad tags', async () => {
    const { problems } = await source("command: '  '\nfilename: a/b\npriority: low\nfrequency: daily\ndestinations: [d]\ntags: ['a,b']");
    assert.deepEqual(codes(problems), ['sources.s.command BAD_VALUE', 'sources.s.filename BAD_VALUE', 'sources.s.tags.0 BAD_VALUE']);
  });
});
