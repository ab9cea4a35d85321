/**
 * The coverage map end to end, through the CLI: a USB drive (a real labelled ext4 loop device),
 * a local mirror and a local repository; a paths source with the architecture note's exclude
 * file and a command source. Nothing is written before `drive enroll`; after it every cell is
 * stored, the real restic reads what lifeboat wrote, `status --json` reports each cell, a second
 * run adds a snapshot, and `run --due` right after has nothing to do.
 */
import assert from 'node:assert/strict';
import { existsSync, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cleanupTestDrives, createTestDrive, type TestDrive } from '../../src/ops/devices/test-drive.ts';
import { cell, lifeboat, listTree, requireEnvironment, restic, resticSnapshots, runLines, scratch, statusJson, writeTree } from './harness.ts';

// The sample backup_excludes.txt of the architecture note, verbatim, then its absolute
// patterns once more anchored in the test tree (the note's own paths do not exist here).
const NOTE_EXCLUDES = ['*.tmp', '*.bak', '/mnt/media/tmp/', '*/.cache/', '/mnt/hot/downloads/incomplete/', '/mnt/hot/surveillance/tmp/'];

const DUMP = "CREATE TABLE invoices (id int);\nINSERT INTO invoices VALUES (1), (2);\n";

describe('enroll, run, status on a USB repository, a local mirror and a local repository', () => {
  let drive: TestDrive;
  let dir: string;
  let passwordFile: string;
  let config: string;
  let mountpoint: string;
  let usbRoot: string;
  let repoRoot: string;
  let mirrorRoot: string;
  let docs: string;
  let firstSnapshot: string;

  before(async () => {
    requireEnvironment();
    ({ dir, passwordFile } = await scratch());
    drive = await createTestDrive();
    mountpoint = path.join(dir, 'mnt', 'usb');
    await drive.mount(mountpoint);
    usbRoot = path.join(mountpoint, 'lifeboat');
    repoRoot = path.join(dir, 'local-repo');
    mirrorRoot = path.join(dir, 'local-mirror');
    docs = path.join(dir, 'data', 'docs');
    await writeTree(docs, {
      'invoices/2025-01.pdf': 'invoice january\n',
      'invoices/2025-02.pdf': 'invoice february\n',
      'notes.txt': 'first version\n',
      'scratch.tmp': 'temporary\n',
      'notes.txt.bak': 'backup copy\n',
      'app/.cache/blob': 'cached\n',
      'app/config.yaml': 'key: value\n',
      'mnt/media/tmp/partial.mkv': 'partial download\n',
      'mnt/media/film.mkv': 'a film\n',
    });
    const excludes = path.join(dir, 'backup_excludes.txt');
    await fsp.writeFile(excludes, ['# from the architecture note', ...NOTE_EXCLUDES, '', '# the same, anchored in this tree', `${docs}/mnt/media/tmp/`].join('\n') + '\n');
    await fsp.writeFile(path.join(dir, 'dump.sql'), DUMP);
    config = path.join(dir, 'lifeboat.yaml');
    await fsp.writeFile(
      config,
      `state_dir: ${dir}/state
hostname: coverage-host
destinations:
  usb:
    kind: usb
    label: ${drive.label}
    mountpoint: ${mountpoint}
    format: repository
    password_file: ${passwordFile}
  mirror:
    kind: local
    path: ${mirrorRoot}
    format: mirror
  repo:
    kind: local
    path: ${repoRoot}
    password_file: ${passwordFile}
sources:
  docs:
    paths: [${docs}]
    priority: high
    frequency: daily
    destinations: [usb, mirror, repo]
    exclude_from: ${excludes}
  db:
    command: cat ${dir}/dump.sql
    filename: db.sql
    priority: high
    frequency: daily
    destinations: [usb, repo]
`,
    );
    const check = await lifeboat(config, ['config', 'check', '--json']);
    assert.equal(check.code, 0, check.stdout + check.stderr);
    assert.equal((JSON.parse(check.stdout) as { ok: boolean }).ok, true);
  });

  after(async () => {
    await cleanupTestDrives();
  });

  it('before enroll, run fails every cell with "never enrolled", exits 13 (DEVICE_UNAVAILABLE) and writes nothing', async () => {
    const r = await lifeboat(config, ['run', '--json']);
    assert.equal(r.code, 13, r.stdout + r.stderr);
    const { cells, summary } = runLines(r.stdout);
    assert.equal(cells.length, 5);
    assert.deepEqual({ failed: summary.failed, succeeded: summary.succeeded }, { failed: 5, succeeded: 0 });
    for (const c of cells) {
      assert.equal(c.outcome, 'failed', `${c.source} -> ${c.destination}`);
      assert.match(c.error ?? '', /never enrolled/, `${c.source} -> ${c.destination}: ${c.error}`);
      assert.equal(c.snapshot, undefined);
    }
    assert.match(cell(cells, 'docs', 'usb').error!, new RegExp(`${drive.label} was never enrolled for destination 'usb'`));
    assert.deepEqual(await fsp.readdir(mountpoint), ['lost+found'], 'nothing is written onto the drive before enroll');
    assert.equal(existsSync(repoRoot), false);
    assert.equal(existsSync(mirrorRoot), false);

    const text = await lifeboat(config, ['run']);
    assert.equal(text.code, 13);
    assert.match(text.stdout, /^FAILED +docs -> usb: .*never enrolled/m);
  });

  it('drive enroll prepares each destination once and writes its marker', async () => {
    const usb = await lifeboat(config, ['drive', 'enroll', 'usb']);
    assert.equal(usb.code, 0, usb.stderr);
    assert.match(usb.stdout, new RegExp(`^enrolled usb at ${usbRoot} \\(drive ${drive.label}\\): repository [0-9a-f]{10} created$`, 'm'));
    const marker = JSON.parse(await fsp.readFile(path.join(usbRoot, '.lifeboat-drive.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(marker.destination, 'usb');
    assert.equal(marker.label, drive.label);
    assert.equal(marker.uuid, drive.uuid);
    assert.match(String(marker.repository_id), /^[0-9a-f]{64}$/);

    const repo = await lifeboat(config, ['drive', 'enroll', 'repo', '--json']);
    assert.equal(repo.code, 0, repo.stderr);
    assert.deepEqual((JSON.parse(repo.stdout) as { destination: string; created: boolean }).created, true);
    const mirror = await lifeboat(config, ['drive', 'enroll', 'mirror']);
    assert.equal(mirror.code, 0, mirror.stderr);
    assert.match(mirror.stdout, /^enrolled mirror at /m);
    assert.ok(existsSync(path.join(mirrorRoot, '.lifeboat-drive.json')));

    // Enrolling again adopts the repository rather than creating another one.
    const again = await lifeboat(config, ['drive', 'enroll', 'usb']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /adopted$/m);
  });

  it('run stores every cell, exits 0, and restic reads the snapshots', async () => {
    const r = await lifeboat(config, ['run', '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const { cells, summary } = runLines(r.stdout);
    assert.deepEqual(summary, { type: 'summary', cells: 5, succeeded: 5, partial: 0, failed: 0, absent: 0, interrupted: 0, not_due: 0 });
    for (const c of cells) assert.equal(c.outcome, 'success', `${c.source} -> ${c.destination}: ${c.error}`);
    firstSnapshot = cell(cells, 'docs', 'usb').snapshot!;
    assert.match(firstSnapshot, /^[0-9a-f]{64}$/);
    assert.equal(cell(cells, 'docs', 'mirror').snapshot, undefined);

    for (const root of [usbRoot, repoRoot]) {
      const snaps = await resticSnapshots(root, passwordFile);
      assert.deepEqual(snaps.map((s) => s.tags).sort(), [['source:db'], ['source:docs']]);
      assert.ok(snaps.every((s) => s.hostname === 'coverage-host'));
    }
    const docsSnap = (await resticSnapshots(usbRoot, passwordFile, 'source:docs'))[0]!;
    assert.equal(docsSnap.id, firstSnapshot);
    assert.deepEqual(docsSnap.paths, [docs]);

    // The exclude file is honoured: restic lists what lifeboat stored.
    const ls = await restic(usbRoot, passwordFile, ['ls', firstSnapshot]);
    assert.equal(ls.code, 0, ls.stderr);
    const stored = ls.stdout.split('\n').filter((l) => l.startsWith(docs + '/')).map((l) => l.slice(docs.length + 1)).sort();
    assert.deepEqual(stored, ['app', 'app/config.yaml', 'invoices', 'invoices/2025-01.pdf', 'invoices/2025-02.pdf', 'mnt', 'mnt/media', 'mnt/media/film.mkv', 'notes.txt']);

    const dbSnap = (await resticSnapshots(repoRoot, passwordFile, 'source:db'))[0]!;
    const dump = await restic(repoRoot, passwordFile, ['dump', dbSnap.id, '/db.sql']);
    assert.equal(dump.code, 0, dump.stderr);
    assert.equal(dump.stdout, DUMP);

    // The mirror holds the same selection as plain files.
    const mirrored = await listTree(path.join(mirrorRoot, 'current', 'docs', 'docs'));
    assert.deepEqual(mirrored, ['app/', 'app/config.yaml', 'invoices/', 'invoices/2025-01.pdf', 'invoices/2025-02.pdf', 'mnt/', 'mnt/media/', 'mnt/media/film.mkv', 'notes.txt']);

    // Each repository got its tree memo (for the paths source) and index cache in the state directory.
    const cached = (await listTree(path.join(dir, 'state', 'cache'))).filter((f) => !f.endsWith('/'));
    assert.equal(cached.filter((f) => /^[0-9a-f]{64}\/index$/.test(f)).length, 2, cached.join(', '));
    assert.equal(cached.filter((f) => /^[0-9a-f]{64}\/trees-[0-9a-f]+$/.test(f)).length, 2, cached.join(', '));
  });

  it('status --json shows every cell OK with its last success and snapshot', async () => {
    const s = await statusJson(config);
    assert.equal(s.code, 0);
    assert.equal(s.cells.length, 5);
    for (const c of s.cells) {
      assert.equal(c.state, 'OK', `${c.source} -> ${c.destination}`);
      assert.ok(c.last_success !== null && Date.now() - Date.parse(c.last_success) < 120_000, `${c.source} -> ${c.destination}: ${c.last_success}`);
      assert.equal(c.destination_present, true);
    }
    const usbDocs = cell(s.cells, 'docs', 'usb');
    assert.equal(usbDocs.snapshot, firstSnapshot);
    assert.equal(usbDocs.snapshots, 1);
    assert.equal(cell(s.cells, 'db', 'repo').snapshots, 1);
    assert.equal(cell(s.cells, 'docs', 'mirror').snapshot, null);

    const text = await lifeboat(config, ['status']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^STATE +SOURCE +DESTINATION/);
    assert.match(text.stdout, /^OK +docs +usb +high +daily /m);
  });

  it('a second run after a change adds a snapshot; status counts two for the cell', async () => {
    await fsp.writeFile(path.join(docs, 'notes.txt'), 'second version\n');
    const r = await lifeboat(config, ['run', '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const { cells } = runLines(r.stdout);
    const second = cell(cells, 'docs', 'usb').snapshot!;
    assert.notEqual(second, firstSnapshot);

    const s = await statusJson(config);
    const usbDocs = cell(s.cells, 'docs', 'usb');
    assert.equal(usbDocs.state, 'OK');
    assert.equal(usbDocs.snapshots, 2);
    assert.equal(usbDocs.snapshot, second);
    assert.equal(cell(s.cells, 'db', 'usb').snapshots, 2);
    assert.equal((await resticSnapshots(usbRoot, passwordFile, 'source:docs')).length, 2);

    const dump = await restic(usbRoot, passwordFile, ['dump', second, `${docs}/notes.txt`]);
    assert.equal(dump.stdout, 'second version\n');
  });

  it('run --due right after has nothing to do: every cell not due, nothing written', async () => {
    const r = await lifeboat(config, ['run', '--due', '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const { cells, summary } = runLines(r.stdout);
    assert.equal(summary.not_due, 5);
    assert.equal(summary.succeeded, 0);
    for (const c of cells) assert.equal(c.outcome, 'not-due');
    assert.equal((await resticSnapshots(usbRoot, passwordFile)).length, 4);
    assert.equal((await resticSnapshots(repoRoot, passwordFile)).length, 4);

    const text = await lifeboat(config, ['run', '--due']);
    assert.equal(text.code, 0);
    assert.match(text.stdout, /^- +docs -> usb: not due$/m);
  });
});
