import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { LifeboatError } from '../core/errors.ts';
import type { ConfigDeps } from './load-config.ts';
import { loadConfig, loadConfigOrThrow, parseConfigText } from './load-config.ts';
import { formatProblem, type Problem } from './problem.ts';

/** A filesystem of the given files, nothing else. */
function fakeFs(files: Record<string, string>, env: Record<string, string> = {}): ConfigDeps {
  return {
    readFile: async (path) => {
      const text = files[path];
      if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
      return text;
    },
    exists: (path) => Object.hasOwn(files, path),
    env,
  };
}

// The example, exactly.
const EXAMPLE = readFileSync(new URL('./testdata/issue-example.yaml', import.meta.url), 'utf8');

const EXCLUDES = { '/etc/nixos/backup_excludes.txt': '*.tmp\n*.bak\n*/.cache/\n' };

const short = (p: Problem): string => `${p.line}:${p.col} ${p.path} ${p.code}`;

describe('parseConfigText on the issue example', () => {
  it('loads it with no problems and no warnings', async () => {
    const r = await parseConfigText(EXAMPLE, '/etc/lifeboat/lifeboat.yaml', fakeFs(EXCLUDES));
    assert.deepEqual(r.problems, []);
    assert.deepEqual(r.warnings, []);
    assert.deepEqual(
      r.config.sources.map((s) => s.name),
      ['nixos-config', 'postgres', 'secrets', 'samba-share'],
    );
  });

  it('normalises it fully', async () => {
    const { config } = await parseConfigText(EXAMPLE, 'lifeboat.yaml', fakeFs(EXCLUDES));
    assert.equal(config.state_dir, '/var/lib/lifeboat');
    assert.equal(config.hostname, undefined);
    const [usb, nas, share] = config.destinations;
    assert.ok(usb?.kind === 'usb' && usb.format === 'repository');
    assert.equal(usb.root, '/mnt/usb-backup/lifeboat');
    assert.deepEqual(usb.password, { kind: 'file', path: '/run/secrets/lifeboat-usb' });
    assert.equal(usb.retention, undefined);
    assert.ok(nas?.kind === 'nas');
    assert.equal(nas.root, '/mnt/backup-nas/lifeboat');
    assert.equal(nas.mountpoint, undefined);
    assert.ok(share?.kind === 'usb' && share.format === 'mirror');
    assert.equal(share.mountpoint, '/mnt/lifeboat/BU-2025-SHARE');
    assert.equal(share.root, '/mnt/lifeboat/BU-2025-SHARE/lifeboat');

    const [nixos, postgres, secrets, samba] = config.sources;
    assert.ok(nixos?.kind === 'paths');
    assert.deepEqual(nixos.exclude_from, ['/etc/nixos/backup_excludes.txt']);
    assert.deepEqual(nixos.exclude, []);
    assert.equal(nixos.frequency.kind === 'named' && nixos.frequency.intervalSeconds, 86400);
    assert.ok(postgres?.kind === 'command');
    assert.deepEqual(postgres.command, { argv: ['/bin/sh', '-c', 'pg_dumpall --clean'], shell: true, text: 'pg_dumpall --clean' });
    assert.equal(postgres.filename, 'postgres.sql');
    assert.equal(secrets?.sensitive, true);
    assert.equal(secrets?.priority, 'critical');
    assert.ok(samba?.kind === 'paths');
    assert.equal(samba.min_files, 1);
    assert.equal(samba.must_be_mountpoint, false);
    assert.deepEqual(samba.destinations, ['usb-share']);
  });
});

// Line numbers are part of the test: keep the text and the expectations together.
const BROKEN = `state_dir: var/lib/lifeboat
hostnme: server1
destinations:
  usb-media:
    kind: usb
    label: BU-2025-MEDIA
    path: /mnt/usb
    password_file: /run/secrets/usb
    retention:
      keep_daily: 7
      keep_within: 7 days
  nas:
    kind: nsa
    path: /mnt/backup-nas
  share:
    kind: usb
    format: mirror
    password_file: /run/x
sources:
  nixos-config:
    paths: /etc/nixos
    priorty: high
    frequency: daily
    destinations: [usb-media, nsa]
    exclude_from: [/etc/nixos/backup_excludes.txt, /etc/nixos/missing.txt]
    exclude: ["*.tmp", "[oops"]
  postgres:
    command: pg_dumpall --clean
    priority: hgh
    frequency: every day
    destinations: [nas, nas]
  secrets:
    paths: [/etc/sops]
    priority: critical
    sensitive: yes
    frequency: "Mon..Fri 25:00"
    destinations: []
  media:
    paths: [/mnt/media]
    priority: high
    frequency: dialy
    destinations: [usb-media]
    min_files: -1
`;

describe('parseConfigText on a config with many mistakes', () => {
  it('reports every problem at once, in file order, each at its line and column', async () => {
    const files = { '/etc/nixos/backup_excludes.txt': '# comment\n*.tmp\n  [unclosed\n' };
    const r = await parseConfigText(BROKEN, 'lifeboat.yaml', fakeFs(files));
    assert.deepEqual(r.problems.map(short), [
      '1:12 state_dir BAD_VALUE',
      '2:1 hostnme UNKNOWN_KEY',
      '7:5 destinations.usb-media.path UNKNOWN_KEY',
      '11:20 destinations.usb-media.retention.keep_within BAD_DURATION',
      '13:11 destinations.nas.kind BAD_VALUE',
      '15:3 destinations.share.label MISSING_FIELD',
      '18:5 destinations.share.password_file CONFLICT',
      '20:3 sources.nixos-config.priority MISSING_FIELD',
      '21:12 sources.nixos-config.paths WRONG_TYPE',
      '22:5 sources.nixos-config.priorty UNKNOWN_KEY',
      '24:31 sources.nixos-config.destinations.1 UNKNOWN_DESTINATION',
      '25:52 sources.nixos-config.exclude_from.1 MISSING_EXCLUDE_FILE',
      '26:24 sources.nixos-config.exclude.1 BAD_PATTERN',
      '27:3 sources.postgres.filename MISSING_FIELD',
      '29:15 sources.postgres.priority BAD_VALUE',
      '30:16 sources.postgres.frequency BAD_FREQUENCY',
      '31:25 sources.postgres.destinations.1 BAD_VALUE',
      '35:16 sources.secrets.sensitive WRONG_TYPE',
      '36:16 sources.secrets.frequency BAD_FREQUENCY',
      '37:19 sources.secrets.destinations BAD_VALUE',
      '41:16 sources.media.frequency BAD_FREQUENCY',
      '43:16 sources.media.min_files BAD_VALUE',
      // The exclude file's own problem comes last, at its own file and line.
      '3:3 sources.nixos-config.exclude_from.0 BAD_PATTERN',
    ]);
    assert.equal(r.problems.at(-1)?.file, '/etc/nixos/backup_excludes.txt');
    assert.deepEqual(r.warnings, [], 'no policy judgement on a broken config');
  });

  it('words each problem for the operator, with a hint where one helps', async () => {
    const r = await parseConfigText(BROKEN, 'lifeboat.yaml', fakeFs({ '/etc/nixos/backup_excludes.txt': '' }));
    const text = r.problems.map(formatProblem);
    const expect = (line: string): void => assert.ok(text.includes(line), `missing:\n${line}\nin:\n${text.join('\n')}`);
    expect('lifeboat.yaml:2:1: hostnme: unknown key "hostnme" (did you mean "hostname"?)');
    expect('lifeboat.yaml:7:5: destinations.usb-media.path: unknown key "path" ("path" is for nas and local destinations)');
    expect('lifeboat.yaml:13:11: destinations.nas.kind: unknown destination kind "nsa" (did you mean "nas"?)');
    expect('lifeboat.yaml:22:5: sources.nixos-config.priorty: unknown key "priorty" (did you mean "priority"?)');
    expect(
      'lifeboat.yaml:24:31: sources.nixos-config.destinations.1: unknown destination "nsa" (did you mean "nas"? known: usb-media, nas, share)',
    );
    expect(
      'lifeboat.yaml:25:52: sources.nixos-config.exclude_from.1: exclude file /etc/nixos/missing.txt does not exist ' +
        '(create it with one restic pattern a line, or remove it from exclude_from)',
    );
    expect('lifeboat.yaml:21:12: sources.nixos-config.paths: expected a list, got "/etc/nixos" (write a list: [/etc/nixos])');
    expect('lifeboat.yaml:29:15: sources.postgres.priority: expected one of critical, high, medium, low; got "hgh" (did you mean "high"?)');
    expect('lifeboat.yaml:41:16: sources.media.frequency: unknown frequency "dialy" (did you mean "daily"?)');
    expect('lifeboat.yaml:36:16: sources.secrets.frequency: "Mon..Fri 25:00" is not a calendar expression: hour 25 is out of range (hours run 0..23)');
    expect(
      'lifeboat.yaml:20:3: sources.nixos-config.priority: missing required field (one of critical, high, medium, low)',
    );
  });
});

describe('parseConfigText edge cases', () => {
  it('reports YAML syntax errors alone, since the structure cannot be trusted', async () => {
    const r = await parseConfigText('sources:\n  a: 1\n  a: 2\n', 'c.yaml', fakeFs({}));
    assert.deepEqual(r.problems.map(short), ['3:3  YAML_SYNTAX']);
  });

  it('asks for destinations and sources in an empty file', async () => {
    const r = await parseConfigText('# nothing yet\n', 'c.yaml', fakeFs({}));
    assert.deepEqual(r.problems.map(short), ['1:1 destinations MISSING_FIELD', '1:1 sources MISSING_FIELD']);
  });

  it('accepts empty maps', async () => {
    const r = await parseConfigText('destinations: {}\nsources: {}\n', 'c.yaml', fakeFs({}));
    assert.deepEqual(r.problems, []);
  });

  it('refuses a document that is not a map', async () => {
    const r = await parseConfigText('- a\n- b\n', 'c.yaml', fakeFs({}));
    assert.deepEqual(r.problems.map(short), ['1:1  WRONG_TYPE']);
  });

  it('checks the entries of a badly named source too', async () => {
    const text = 'destinations: {}\nsources:\n  Media:\n    paths: [media]\n    priority: high\n    frequency: daily\n    destinations: [x]\n';
    const r = await parseConfigText(text, 'c.yaml', fakeFs({}));
    assert.deepEqual(r.problems.map(short), ['3:3 sources.Media BAD_NAME', '4:13 sources.Media.paths.0 BAD_VALUE', '7:20 sources.Media.destinations.0 UNKNOWN_DESTINATION']);
    assert.match(r.problems[0]?.hint ?? '', /e\.g\. "media"/);
  });

  it('expands $VAR in exclude files as restic does before judging a pattern', async () => {
    const text = `destinations:
  d:
    kind: local
    path: /srv/backup
    format: mirror
sources:
  s:
    paths: [/srv/data]
    priority: low
    frequency: manual
    destinations: [d]
    exclude_from: /etc/ex
`;
    const clean = await parseConfigText(text, 'c.yaml', fakeFs({ '/etc/ex': '$DIR/*.tmp\n' }, { DIR: '/srv' }));
    assert.deepEqual(clean.problems, []);
    const bad = await parseConfigText(text, 'c.yaml', fakeFs({ '/etc/ex': '\n$DIR/*.tmp\n' }, { DIR: '/srv[' }));
    assert.deepEqual(bad.problems.map((p) => `${p.file}:${p.line}:${p.col}`), ['/etc/ex:2:1']);
    assert.match(bad.problems[0]?.message ?? '', /expanded to "\/srv\[\/\*\.tmp"/);
  });

  it('places policy warnings in the file', async () => {
    const text = EXAMPLE.replace('destinations: [usb-media, nas]\n    exclude_from', 'destinations: [usb-media]\n    exclude_from');
    const r = await parseConfigText(text, 'c.yaml', fakeFs(EXCLUDES));
    assert.deepEqual(r.problems, []);
    assert.deepEqual(
      r.warnings.map((w) => [w.code, w.location?.line, w.location?.col]),
      [['TOO_FEW_DESTINATIONS', 22, 19]],
    );
  });
});

describe('loadConfig and loadConfigOrThrow', () => {
  it('reports a missing file as a problem of the file itself', async () => {
    const r = await loadConfig('/etc/lifeboat/lifeboat.yaml', fakeFs({}));
    assert.equal(r.problems.length, 1);
    assert.equal(
      formatProblem(r.problems[0] as Problem),
      '/etc/lifeboat/lifeboat.yaml: cannot read the config file: no such file ' +
        '(create it from the starter config, or point --config or LIFEBOAT_CONFIG at another file)',
    );
  });

  it('returns the config and warnings when there are no problems', async () => {
    const { config, warnings } = await loadConfigOrThrow('/c.yaml', fakeFs({ ...EXCLUDES, '/c.yaml': EXAMPLE }));
    assert.equal(config.sources.length, 4);
    assert.deepEqual(warnings, []);
  });

  it('throws BAD_CONFIG listing every problem, one a line', async () => {
    const text = 'destinations: {}\nsources:\n  a:\n    paths: [/a]\n    priority: hi\n    frequency: daily\n    destinations: [nas]\n';
    await assert.rejects(loadConfigOrThrow('/c.yaml', fakeFs({ '/c.yaml': text })), (err: unknown) => {
      assert.ok(err instanceof LifeboatError);
      assert.equal(err.code, 'BAD_CONFIG');
      assert.equal(
        err.message,
        'Cannot use config /c.yaml: 2 problems\n' +
          '/c.yaml:5:15: sources.a.priority: expected one of critical, high, medium, low; got "hi" (did you mean "high"?)\n' +
          '/c.yaml:7:20: sources.a.destinations.0: unknown destination "nas" (no destinations are defined yet)',
      );
      return true;
    });
  });
});
