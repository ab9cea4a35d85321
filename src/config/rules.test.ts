import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Config } from './config.ts';
import { parseConfigText } from './load-config.ts';
import { formatWarning, policyWarnings, sameDevice } from './rules.ts';

const deps = { readFile: async (): Promise<string> => '', exists: (): boolean => true, env: {} };

const DESTINATIONS = `destinations:
  usb-a:
    kind: usb
    label: BU-A
    password_file: /p
  usb-a-again:
    kind: usb
    label: BU-A
    mountpoint: /mnt/other
    password_file: /p
  usb-b:
    kind: usb
    label: BU-B
    mountpoint: /mnt/other
    password_file: /p
  usb-mirror:
    kind: usb
    uuid: 1234-ABCD
    format: mirror
  nas:
    kind: nas
    path: /mnt/nas/lifeboat
    password_file: /p
  nas-2:
    kind: nas
    path: /mnt/nas/other
    mountpoint: /mnt/nas
    password_file: /p
`;

/** A valid config: the destinations above and the given sources. */
async function config(sources: string): Promise<Config> {
  const r = await parseConfigText(`${DESTINATIONS}sources:\n${sources}`, 'c.yaml', deps);
  assert.deepEqual(r.problems, [], 'the fixture must be valid');
  return r.config;
}

const src = (name: string, fields: string): string => `  ${name}:\n${fields.split('\n').map((l) => `    ${l}\n`).join('')}`;
const keepAllUsed = src('filler', 'paths: [/filler]\npriority: low\nfrequency: manual\ndestinations: [usb-a, usb-a-again, usb-b, usb-mirror, nas, nas-2]');

describe('policyWarnings', () => {
  it('TOO_FEW_DESTINATIONS: a high or critical source needs two destinations', async () => {
    const c = await config(keepAllUsed + src('receipts', 'paths: [/srv/receipts]\npriority: high\nfrequency: daily\ndestinations: [nas]'));
    const [w, ...rest] = policyWarnings(c);
    assert.deepEqual(rest, []);
    assert.equal(w?.code, 'TOO_FEW_DESTINATIONS');
    assert.equal(w?.level, 'warn');
    assert.deepEqual([w?.sources, w?.destinations, w?.path], [['receipts'], ['nas'], 'sources.receipts.destinations']);
    assert.equal(w?.message, 'high source "receipts" goes to only "nas"; high sources need two, on different devices');
  });

  it('accepts one destination for medium and low sources', async () => {
    const c = await config(keepAllUsed + src('share', 'paths: [/srv/share]\npriority: medium\nfrequency: weekly\ndestinations: [usb-mirror]'));
    assert.deepEqual(policyWarnings(c), []);
  });

  it('SAME_DEVICE: two usb destinations with one label are one drive', async () => {
    const c = await config(keepAllUsed + src('secrets', 'paths: [/etc/sops]\npriority: critical\nfrequency: daily\ndestinations: [usb-a, usb-a-again]'));
    const warnings = policyWarnings(c);
    assert.deepEqual(
      warnings.map((w) => [w.code, w.destinations]),
      [['SAME_DEVICE', ['usb-a', 'usb-a-again']]],
    );
    assert.match(warnings[0]?.message ?? '', /same drive label BU-A/);
  });

  it('SAME_DEVICE: nas destinations nested in one mount are one device', async () => {
    const c = await config(keepAllUsed + src('db', 'paths: [/srv/db]\npriority: high\nfrequency: daily\ndestinations: [nas, nas-2]'));
    assert.deepEqual(policyWarnings(c).map((w) => w.code), ['SAME_DEVICE']);
  });

  it('counts a usb drive and a nas as independent', async () => {
    const c = await config(keepAllUsed + src('db', 'paths: [/srv/db]\npriority: high\nfrequency: daily\ndestinations: [usb-a, nas]'));
    assert.deepEqual(policyWarnings(c), []);
  });

  it('lets deviceOf decide when it knows both destinations', async () => {
    const c = await config(keepAllUsed + src('db', 'paths: [/srv/db]\npriority: high\nfrequency: daily\ndestinations: [usb-a, usb-b]'));
    assert.deepEqual(policyWarnings(c), []);
    const oneDisk = policyWarnings(c, { deviceOf: () => '8:17' });
    assert.deepEqual(oneDisk.map((w) => w.code), ['SAME_DEVICE']);
    assert.match(oneDisk[0]?.message ?? '', /both on device 8:17/);
    // Unknown to deviceOf: fall back to labels.
    assert.deepEqual(policyWarnings(c, { deviceOf: (n) => (n === 'usb-a' ? '8:17' : undefined) }), []);
  });

  it('SENSITIVE_TO_MIRROR: sensitive data never goes to an unencrypted mirror (level error)', async () => {
    const c = await config(keepAllUsed + src('secrets', 'paths: [/etc/sops]\npriority: critical\nsensitive: true\nfrequency: daily\ndestinations: [usb-a, nas, usb-mirror]'));
    const warnings = policyWarnings(c);
    assert.deepEqual(
      warnings.map((w) => [w.code, w.level, w.path, w.sources, w.destinations]),
      [['SENSITIVE_TO_MIRROR', 'error', 'sources.secrets.destinations.2', ['secrets'], ['usb-mirror']]],
    );
    assert.equal(
      formatWarning(warnings[0]!),
      'error [SENSITIVE_TO_MIRROR]: sources.secrets.destinations.2: sensitive source "secrets" goes to mirror "usb-mirror", which stores files unencrypted ' +
        '(send it to an encrypted repository destination instead, or set sensitive: false if it is not sensitive)',
    );
  });

  it('UNUSED_DESTINATION: a destination no source goes to', async () => {
    const c = await config(src('db', 'paths: [/srv/db]\npriority: high\nfrequency: daily\ndestinations: [usb-a, nas]'));
    assert.deepEqual(
      policyWarnings(c).map((w) => [w.code, w.destinations[0], w.path]),
      [
        ['UNUSED_DESTINATION', 'usb-a-again', 'destinations.usb-a-again'],
        ['UNUSED_DESTINATION', 'usb-b', 'destinations.usb-b'],
        ['UNUSED_DESTINATION', 'usb-mirror', 'destinations.usb-mirror'],
        ['UNUSED_DESTINATION', 'nas-2', 'destinations.nas-2'],
      ],
    );
  });

  it('OVERLAPPING_SOURCES: a path inside another source is stored twice', async () => {
    const c = await config(
      keepAllUsed +
        src('media', 'paths: [/mnt/media]\npriority: medium\nfrequency: weekly\ndestinations: [nas]') +
        src('movies', 'paths: [/mnt/media/movies/]\npriority: medium\nfrequency: weekly\ndestinations: [nas]'),
    );
    const warnings = policyWarnings(c);
    assert.deepEqual(
      warnings.map((w) => [w.code, w.sources, w.path]),
      [['OVERLAPPING_SOURCES', ['media', 'movies'], 'sources.movies.paths.0']],
    );
    assert.equal(warnings[0]?.message, '/mnt/media/movies (source "movies") is inside /mnt/media (source "media"), so it is backed up twice');
  });

  it('OVERLAPPING_SOURCES: not when the outer source excludes the inner path', async () => {
    const c = await config(
      keepAllUsed +
        src('media', 'paths: [/mnt/media]\nexclude: [/mnt/media/movies]\npriority: medium\nfrequency: weekly\ndestinations: [nas]') +
        src('movies', 'paths: [/mnt/media/movies]\npriority: medium\nfrequency: weekly\ndestinations: [nas]'),
    );
    assert.deepEqual(policyWarnings(c), []);
  });

  it('OVERLAPPING_SOURCES: the same path in two sources is one warning', async () => {
    const c = await config(
      keepAllUsed +
        src('a', 'paths: [/srv/x]\npriority: low\nfrequency: weekly\ndestinations: [nas]') +
        src('b', 'paths: [/srv/x]\npriority: low\nfrequency: weekly\ndestinations: [nas]'),
    );
    assert.deepEqual(
      policyWarnings(c).map((w) => w.message),
      ['sources "a" and "b" both back up /srv/x'],
    );
  });
});

describe('policyWarnings: age identities', () => {
  const secrets = src('secrets', 'paths: [/etc/sops]\npriority: critical\nsensitive: true\nfrequency: daily\ndestinations: [usb-a, nas]\nage_identity: /var/lib/sops-nix/key.txt');

  it('AGE_IDENTITY_MISSING: an age_identity file that does not exist (a warning: backups do not need it)', async () => {
    const c = await config(keepAllUsed + secrets);
    const warnings = policyWarnings(c, { fileExists: (p) => p !== '/var/lib/sops-nix/key.txt' });
    assert.deepEqual(
      warnings.map((w) => [w.code, w.level, w.path, w.sources]),
      [['AGE_IDENTITY_MISSING', 'warn', 'sources.secrets.age_identity', ['secrets']]],
    );
    assert.match(warnings[0]?.message ?? '', /^age identity \/var\/lib\/sops-nix\/key\.txt of source "secrets" does not exist/);
  });

  it('says nothing when the file exists, or when no one can look', async () => {
    const c = await config(keepAllUsed + secrets);
    assert.deepEqual(policyWarnings(c, { fileExists: () => true }), []);
    assert.deepEqual(policyWarnings(c), []);
  });

  it('the loader looks the file up through its exists and places the warning at the line', async () => {
    const text = `${DESTINATIONS}sources:\n${keepAllUsed}${secrets}`;
    const r = await parseConfigText(text, 'c.yaml', { ...deps, exists: async (p: string) => p !== '/var/lib/sops-nix/key.txt' });
    assert.deepEqual(r.problems, []);
    const w = r.warnings.find((x) => x.code === 'AGE_IDENTITY_MISSING');
    const line = text.split('\n').findIndex((l) => l.includes('age_identity:')) + 1;
    assert.equal(w?.location?.line, line);
    assert.deepEqual(r.warnings.map((x) => x.code), ['AGE_IDENTITY_MISSING']);
  });
});

describe('sameDevice', () => {
  it('keeps rotation drives apart: different labels at one mountpoint are different drives', async () => {
    const c = await config(keepAllUsed);
    const byName = new Map(c.destinations.map((d) => [d.name, d]));
    const again = byName.get('usb-a-again')!;
    const b = byName.get('usb-b')!;
    assert.ok(again.kind === 'usb' && b.kind === 'usb' && again.mountpoint === b.mountpoint);
    assert.equal(sameDevice(again, b), undefined);
    assert.equal(sameDevice(byName.get('usb-a')!, again), 'same drive label BU-A');
  });
});
