/**
 * `lifeboat check` across destinations that are lost in different ways, end to end through the
 * CLI: an enrolled local repository whose files are gone (the marker is left), a real labelled
 * ext4 loop drive mounted with nothing on it, a repository the configured password does not
 * open, a nas whose share is not mounted, a USB drive that is away, a copy of another
 * destination's repository (its marker names that one), and last a healthy repository. Each is reported on its own, in text and JSON, with the right advice (never
 * `repo init` for a lost backup), the healthy one is still checked, and the exit code says
 * what kind of trouble there was.
 */
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cleanupTestDrives, createTestDrive, randomLabel, type TestDrive } from '../../src/ops/devices/test-drive.ts';
import { lifeboat, requireTools, restic, Scratch, show, writeTree } from './harness.ts';

interface CheckJson {
  readonly destinations: {
    readonly destination: string;
    readonly state: string;
    readonly ok?: boolean;
    readonly why?: string;
    readonly snapshots?: number;
    readonly error?: { readonly code: string; readonly message: string; readonly hint?: string };
  }[];
}

describe('check goes on past missing repositories', () => {
  let s: Scratch;
  let drive: TestDrive;
  let config: string;
  let passwordFile: string;
  let otherPassword: string;

  before(async () => {
    requireTools();
    s = await Scratch.create('check');
    passwordFile = await s.passwordFile();
    otherPassword = s.path('secrets', 'other-password');
    await fsp.writeFile(otherPassword, 'not the password of that repository\n', { mode: 0o600 });
    drive = await createTestDrive();
    await drive.mount(path.join(drive.workDir, 'mnt'));
    await writeTree(s.path('live', 'docs'), { 'a.txt': 'alpha\n', 'b/c.txt': 'gamma\n' });
    // Init with the right password; the config below gives this destination another one.
    const init = await restic(s.path('wrong-pw'), passwordFile, ['init']);
    assert.equal(init.code, 0, show(init));
    config = s.path('lifeboat.yaml');
    await fsp.writeFile(
      config,
      `state_dir: ${s.path('state')}
hostname: check-host
destinations:
  lost:
    kind: local
    path: ${s.path('lost')}
    password_file: ${passwordFile}
  blank:
    kind: usb
    label: ${drive.label}
    mountpoint: ${path.join(drive.workDir, 'mnt')}
    password_file: ${passwordFile}
  wrong-pw:
    kind: local
    path: ${s.path('wrong-pw')}
    password_file: ${otherPassword}
  share:
    kind: nas
    path: ${s.path('share', 'lifeboat')}
    mountpoint: ${s.path('share')}
    password_file: ${passwordFile}
  away:
    kind: usb
    label: ${randomLabel()}
    password_file: ${passwordFile}
  copy:
    kind: local
    path: ${s.path('copy')}
    password_file: ${passwordFile}
  repo:
    kind: local
    path: ${s.path('repo')}
    password_file: ${passwordFile}
sources:
  docs:
    paths: [${s.path('live', 'docs')}]
    priority: high
    frequency: daily
    destinations: [lost, blank, wrong-pw, share, away, copy, repo]
`,
    );
    await fsp.mkdir(s.path('share'));
    for (const d of ['lost', 'repo']) {
      const e = await lifeboat(config, ['drive', 'enroll', d]);
      assert.equal(e.code, 0, show(e));
      const r = await lifeboat(config, ['run', '--destination', d]);
      assert.equal(r.code, 0, show(r));
    }
    // `copy` holds a copy of `repo`, marker included: not the repository enrolled as `copy`.
    await fsp.cp(s.path('repo'), s.path('copy'), { recursive: true });
    // The repository of `lost` goes; its drive marker stays, as after an accidental rm -rf of the files.
    for (const name of await fsp.readdir(s.path('lost'))) if (name !== '.lifeboat-drive.json') await fsp.rm(s.path('lost', name), { recursive: true, force: true });
  });

  after(async () => {
    await cleanupTestDrives();
    await s?.cleanup();
  });

  it('reports every destination, still checks the healthy one last, and exits 1 for mixed trouble', async () => {
    const r = await lifeboat(config, ['check']);
    assert.equal(r.code, 1, show(r));
    const lines = r.stdout.split('\n');
    const at = (d: string): number => lines.findIndex((l) => l.startsWith(`${d}: `));
    assert.deepEqual(
      ['lost', 'blank', 'wrong-pw', 'share', 'away', 'copy', 'repo'].map((d) => at(d) >= 0),
      [true, true, true, true, true, true, true],
      show(r),
    );
    assert.match(r.stdout, /^repo: no errors \(1 snapshot, \d+ packs\)$/m);
    assert.match(r.stdout, /^lost: NOT CHECKED: .*the repository enrolled there \([0-9a-f]{10}\) on \d{4}-\d\d-\d\d is missing.* \[NO_REPOSITORY\]$/m);
    assert.match(lines[at('lost') + 1] ?? '', /^ {2}what to do: that backup is lost: the other destinations .*lifeboat drive enroll lost/);
    assert.match(r.stdout, new RegExp(`^blank: NOT CHECKED: .*there is no repository on ${drive.label} at .* \\[NO_REPOSITORY\\]$`, 'm'));
    assert.match(r.stdout, /^wrong-pw: NOT CHECKED: .*wrong password.* \[WRONG_PASSWORD\]$/m);
    assert.match(lines[at('wrong-pw') + 1] ?? '', new RegExp(`what to do: the password from password_file ${otherPassword} of destination wrong-pw`));
    assert.match(r.stdout, /^share: NOT CHECKED: .*not mounted.* \[DEVICE_UNAVAILABLE\]$/m);
    assert.match(r.stdout, /^away: not checked: .* is not plugged in$/m);
    assert.match(r.stdout, /^copy: NOT CHECKED: .*is enrolled for destination 'repo', not 'copy'.* \[DEVICE_UNAVAILABLE\]$/m);
    assert.doesNotMatch(r.stdout + r.stderr, /repo init/);
    assert.doesNotMatch(r.stdout + r.stderr, /operator suite password|not the password of that/);
  });

  it('--json gives each destination its state, and code, message and hint for the failed ones', async () => {
    const r = await lifeboat(config, ['check', '--json']);
    assert.equal(r.code, 1, show(r));
    const doc = JSON.parse(r.stdout) as CheckJson;
    assert.deepEqual(
      doc.destinations.map((d) => [d.destination, d.state, d.error?.code]),
      [
        ['lost', 'failed', 'NO_REPOSITORY'],
        ['blank', 'failed', 'NO_REPOSITORY'],
        ['wrong-pw', 'failed', 'WRONG_PASSWORD'],
        ['share', 'failed', 'DEVICE_UNAVAILABLE'],
        ['away', 'absent', undefined],
        ['copy', 'failed', 'DEVICE_UNAVAILABLE'],
        ['repo', 'checked', undefined],
      ],
    );
    for (const d of doc.destinations.filter((x) => x.state === 'failed')) {
      assert.match(d.error?.message ?? '', new RegExp(`destination ${d.destination}\\b`), `the message names the destination: ${JSON.stringify(d)}`);
      assert.ok((d.error?.hint ?? '').length > 0, `a hint for ${d.destination}`);
    }
    const repo = doc.destinations.find((d) => d.destination === 'repo');
    assert.deepEqual([repo?.ok, repo?.snapshots], [true, 1]);
  });

  it('one destination by name exits with its own code; a USB drive asked for by name that is away is a failure', async () => {
    const cases: [string, number, RegExp][] = [
      ['lost', 10, /NO_REPOSITORY/],
      ['wrong-pw', 12, /WRONG_PASSWORD/],
      ['share', 13, /DEVICE_UNAVAILABLE/],
      ['away', 13, /^away: NOT CHECKED: .*is not plugged in.*\[DEVICE_UNAVAILABLE\]$/m],
      ['repo', 0, /^repo: no errors/m],
    ];
    for (const [d, code, text] of cases) {
      const r = await lifeboat(config, ['check', '--destination', d]);
      assert.equal(r.code, code, `${d}: ${show(r)}`);
      assert.match(r.stdout, text, `${d}: ${show(r)}`);
    }
    const unknown = await lifeboat(config, ['check', '--destination', 'nope']);
    assert.equal(unknown.code, 2, show(unknown));
    assert.match(unknown.stderr, /No destination named nope/);
  });
});
