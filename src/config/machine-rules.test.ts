import assert from 'node:assert/strict';
import { existsSync, promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Config } from './config.ts';
import { parseConfigText, type ConfigDeps } from './load-config.ts';
import { machineWarnings } from './machine-rules.ts';
import { statPath, type PathFacts, type PathStat, type StatPath } from './path-facts.ts';
import { formatWarning, type PolicyWarning } from './rules.ts';

/** The real filesystem, as the CLI passes it. */
const realFs: ConfigDeps = { readFile: (p) => fsp.readFile(p, 'utf8'), exists: (p) => existsSync(p), stat: statPath, env: {} };

const source = (name: string, fields: string): string => `  ${name}:\n${fields.split('\n').map((l) => `    ${l}\n`).join('')}`;
const summary = (w: PolicyWarning): [string, string, string] => [w.code, w.level, w.path];

describe('machine findings on real directories', () => {
  let dir: string;
  const p = (...parts: string[]): string => path.join(dir, ...parts);

  before(async () => {
    dir = await fsp.mkdtemp(path.join(tmpdir(), 'lifeboat-machine-rules-'));
    await fsp.mkdir(p('data', 'docs'), { recursive: true });
    await fsp.mkdir(p('pg', 'main'), { recursive: true });
    await fsp.writeFile(p('pg', 'main', 'PG_VERSION'), '16\n');
    await fsp.mkdir(p('secrets', 'a-directory'), { recursive: true });
    await fsp.writeFile(p('secrets', 'good'), 'the password\n', { mode: 0o600 });
    await fsp.writeFile(p('secrets', 'empty'), '', { mode: 0o600 });
    await fsp.mkdir(p('off'), { recursive: true });
  });

  after(async () => {
    await fsp.rm(dir, { recursive: true, force: true });
  });

  const load = (destinations: string, sources: string): ReturnType<typeof parseConfigText> =>
    parseConfigText(`destinations:\n${destinations}sources:\n${sources}`, 'c.yaml', realFs);

  const local = (name: string, where: string, password = 'good'): string => `  ${name}:\n    kind: local\n    path: ${where}\n    password_file: ${p('secrets', password)}\n`;

  it('SOURCE_PATH_MISSING: an error for a high source, a warning for a low one, at the path', async () => {
    const text = `${local('a', p('repo-a'))}${local('b', p('repo-b'))}`;
    const r = await load(
      text.replace(/kind: local\n    path: (.*repo-b)/, 'kind: usb\n    label: BU-ELSEWHERE'),
      source('docs', `paths: [${p('data', 'docs')}, ${p('data', 'gone')}]\npriority: high\nfrequency: daily\ndestinations: [a, b]`) +
        source('extra', `paths: [${p('data', 'later')}]\npriority: low\nfrequency: weekly\ndestinations: [a]`),
    );
    assert.deepEqual(r.problems, []);
    assert.deepEqual(r.warnings.map(summary), [
      ['SOURCE_PATH_MISSING', 'error', 'sources.docs.paths.1'],
      ['SOURCE_PATH_MISSING', 'warn', 'sources.extra.paths.0'],
    ]);
    assert.match(formatWarning(r.warnings[0]!), new RegExp(`^c\\.yaml:\\d+:\\d+: error \\[SOURCE_PATH_MISSING\\]: sources\\.docs\\.paths\\.1: ${p('data', 'gone')} of high source "docs" does not exist, so every run of it fails \\(.+\\)$`));
  });

  it('PASSWORD_FILE_UNREADABLE: missing, empty or not a file; a good one says nothing', async () => {
    const r = await load(
      local('missing', p('r1'), 'missing') + local('empty', p('r2'), 'empty') + local('dir', p('r3'), 'a-directory') + local('fine', p('r4')),
      source('docs', `paths: [${p('data', 'docs')}]\npriority: medium\nfrequency: daily\ndestinations: [missing, empty, dir, fine]`),
    );
    assert.deepEqual(r.problems, []);
    assert.deepEqual(r.warnings.map(summary), [
      ['PASSWORD_FILE_UNREADABLE', 'error', 'destinations.missing.password_file'],
      ['PASSWORD_FILE_UNREADABLE', 'error', 'destinations.empty.password_file'],
      ['PASSWORD_FILE_UNREADABLE', 'error', 'destinations.dir.password_file'],
    ]);
    assert.deepEqual(
      r.warnings.map((w) => /password file \S+ of destination "\w+" (.*?), so nothing/.exec(w.message)?.[1]),
      ['does not exist', 'is empty', 'is not a file (a directory)'],
    );
    // destinations:, missing:, kind:, path:, then its password_file on line 5.
    assert.deepEqual([r.warnings[0]?.location?.line, r.warnings[0]?.location?.col], [5, 20]);
  });

  it('SAME_DEVICE: two nas destinations on one share (seen at two places) count as one device, and it says so', async () => {
    // The share's mounts are simulated at the stat seam (the real tmpfs and bind mount: test/coverage/config-check.test.ts).
    const share: StatPath = async (x) => {
      const real = await statPath(x);
      const onShare = [p('nas'), p('nas-again')].some((m) => x === m || x.startsWith(`${m}/`));
      return real && (onShare ? { ...real, device: '0:99' } : real);
    };
    await fsp.mkdir(p('nas'), { recursive: true });
    await fsp.mkdir(p('nas-again'), { recursive: true });
    const nas = (name: string, where: string): string => `  ${name}:\n    kind: nas\n    path: ${where}\n    password_file: ${p('secrets', 'good')}\n`;
    const text = `destinations:\n${nas('nas-a', p('nas', 'a')) + nas('nas-b', p('nas-again', 'b'))}sources:\n${source('db', `paths: [${p('data', 'docs')}]\npriority: high\nfrequency: daily\ndestinations: [nas-a, nas-b]`)}`;
    const r = await parseConfigText(text, 'c.yaml', { ...realFs, stat: share });
    assert.deepEqual(r.problems, []);
    assert.deepEqual(r.warnings.map(summary), [['SAME_DEVICE', 'warn', 'sources.db.destinations']]);
    assert.match(r.warnings[0]!.message, new RegExp(`goes to nas-a and nas-b, which are on one device \\(both on device 0:99: ${p('nas', 'a')} and ${p('nas-again', 'b')} are on one filesystem\\)`));
  });

  it('SAME_DEVICE: two local destinations on one filesystem; not a nas whose share is not mounted', async () => {
    const sources = (a: string, b: string): string => source('db', `paths: [${p('data', 'docs')}]\npriority: high\nfrequency: daily\ndestinations: [${a}, ${b}]`);
    const locals = await load(local('l1', p('l1')) + local('l2', p('sub', 'l2')), sources('l1', 'l2'));
    assert.deepEqual(locals.warnings.map((w) => w.code), ['SAME_DEVICE']);
    const off = `  off:\n    kind: nas\n    path: ${p('off', 'lifeboat')}\n    mountpoint: ${p('off')}\n    password_file: ${p('secrets', 'good')}\n`;
    const unmounted = await load(local('l1', p('l1')) + off, sources('l1', 'off'));
    assert.deepEqual(unmounted.warnings, [], 'an unmounted share is not known to be on the root disk');
  });

  it('LIVE_DATABASE_FILES: a directory holding PG_VERSION, with a pg_dumpall command source suggested', async () => {
    const r = await load(local('a', p('repo-a')), source('db', `paths: [${p('pg', 'main')}]\npriority: medium\nfrequency: daily\ndestinations: [a]`));
    assert.deepEqual(r.warnings.map(summary), [['LIVE_DATABASE_FILES', 'warn', 'sources.db.paths.0']]);
    assert.match(r.warnings[0]!.message, /is a PostgreSQL data directory \(it has a PG_VERSION file\): a copy of a running server's data files is not a consistent backup/);
    assert.match(r.warnings[0]!.hint ?? '', /command: \[runuser, -u, postgres, --, pg_dumpall, --clean\]/);
  });

  it('says nothing about the filesystem without an injected stat', async () => {
    const r = await parseConfigText(`destinations:\n${local('a', p('repo-a'), 'missing')}sources:\n${source('docs', `paths: [${p('data', 'gone')}]\npriority: high\nfrequency: daily\ndestinations: [a]`)}`, 'c.yaml', { ...realFs, stat: undefined });
    assert.deepEqual(r.warnings.map((w) => w.code), ['TOO_FEW_DESTINATIONS']);
  });
});

describe('machineWarnings: PostgreSQL data roots', () => {
  const dir: PathStat = { kind: 'directory', size: 4096, device: '8:1', readable: true };
  const facts = (paths: string[]): PathFacts => new Map(paths.map((x) => [x, dir]));
  const config = (paths: string[], exclude: string[] = []): Config => ({
    file: 'c.yaml',
    state_dir: '/var/lib/lifeboat',
    hostname: undefined,
    destinations: [],
    sources: [{ kind: 'paths', name: 'server', priority: 'medium', frequency: { kind: 'named', name: 'daily', intervalSeconds: 86400 }, destinations: [], sensitive: false, age_identity: undefined, tags: [], paths, exclude, exclude_from: [], must_be_mountpoint: false, min_files: 0 } as Config['sources'][number]],
  });

  it('warns for a path under /var/lib/postgresql and for a path that includes it', () => {
    assert.match(machineWarnings(config(['/var/lib/postgresql/16']), facts(['/var/lib/postgresql/16']))[0]?.message ?? '', /^\/var\/lib\/postgresql\/16 holds PostgreSQL's data files \(\/var\/lib\/postgresql\)/);
    const [w] = machineWarnings(config(['/var/lib']), facts(['/var/lib', '/var/lib/postgresql']));
    assert.match(w?.message ?? '', /^\/var\/lib includes \/var\/lib\/postgresql, PostgreSQL's data files/);
    assert.match(w?.hint ?? '', /and add \/var\/lib\/postgresql to the exclude list of "server"$/);
  });

  it('not when the source excludes the data root, or the root is not on this machine', () => {
    assert.deepEqual(machineWarnings(config(['/var/lib'], ['/var/lib/postgresql']), facts(['/var/lib', '/var/lib/postgresql'])), []);
    assert.deepEqual(machineWarnings(config(['/var/lib']), facts(['/var/lib'])), []);
  });
});
