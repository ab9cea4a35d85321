/**
 * Restore drills and damage reports, end to end through the CLI: a paths source backed up twice
 * into a local repository (and a mirror). A drill restores the next slice of
 * the newest snapshot's files and verifies them (the mirror's drill compares it with the live
 * source, see mirror-drill.test.ts); with the default rotation of 7 every file is
 * restored once per round; a pass tags the snapshot `verified` (as the real restic sees it) and
 * shows in `status`. Then one byte of one data blob is flipped on disk: `drill --full` and
 * `check --read-data` name the pack, the file and the snapshots, and every other file still
 * restores byte for byte.
 */
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { flipPackByte, jsonLines, lifeboat, locateSmallFile, requireTools, restic, resticSnapshots, Scratch, seededBytes, show, treeDigest, writeTree, type BlobLocation } from './harness.ts';

interface DrillLine {
  readonly type: 'drill';
  readonly source: string;
  readonly destination: string;
  readonly outcome: 'passed' | 'failed' | 'skipped';
  readonly snapshot?: string;
  readonly filesChecked: number;
  readonly totalFiles: number;
  readonly coverage: number;
  readonly round: number;
  readonly packsRead: number;
  readonly findings: { path: string; problem: string }[];
  readonly why?: string;
}

interface StatusCell {
  readonly source: string;
  readonly destination: string;
  readonly last_drill: string | null;
  readonly last_drill_ok: boolean | null;
  readonly drill_coverage: number | null;
}

// 12 files in the first run; the second changes one and adds one: 13 files, 2 per drill.
const BIG = seededBytes(3, 300_000);
const FILES: Record<string, string | Buffer> = {
  'contracts/lease.pdf': seededBytes(1, 40_000),
  'contracts/insurance.pdf': seededBytes(2, 30_000),
  'invoices/2025-01.pdf': 'invoice january\n',
  'invoices/2025-02.pdf': 'invoice february\n',
  'invoices/2025-03.pdf': 'invoice march\n',
  'ledger.csv': 'date,amount\n2025-01-03,12.50\n',
  'notes.txt': 'first version\n',
  'photos/big.jpg': BIG,
  'photos/small.jpg': seededBytes(4, 20_000),
  'recipes/bread.md': '# bread\nflour, water, salt\n',
  'recipes/soup.md': '# soup\n',
  'todo.md': '- back up\n',
};
const TOTAL = 13;
const PER_DRILL = Math.ceil(TOTAL / 7);

describe('drill and check on a local repository', () => {
  let s: Scratch;
  let config: string;
  let passwordFile: string;
  let repo: string;
  let docs: string;
  let lastCoverage = 0;
  let damaged: BlobLocation;

  const drillJson = async (...extra: string[]): Promise<{ code: number | null; lines: DrillLine[] }> => {
    const r = await lifeboat(config, ['drill', '--source', 'docs', '--destination', 'repo', '--json', ...extra]);
    return { code: r.code, lines: jsonLines<DrillLine>(r.stdout) };
  };

  before(async () => {
    requireTools();
    s = await Scratch.create('drill');
    passwordFile = await s.passwordFile();
    repo = s.path('repo');
    docs = s.path('live', 'docs');
    await writeTree(docs, FILES);
    config = s.path('lifeboat.yaml');
    await fsp.writeFile(
      config,
      `state_dir: ${s.path('state')}
hostname: drill-host
destinations:
  repo:
    kind: local
    path: ${repo}
    format: repository
    password_file: ${passwordFile}
  mirror:
    kind: local
    path: ${s.path('mirror')}
    format: mirror
sources:
  docs:
    paths: [${docs}]
    priority: high
    frequency: daily
    destinations: [repo, mirror]
`,
    );
    for (const d of ['repo', 'mirror']) {
      const e = await lifeboat(config, ['drive', 'enroll', d]);
      assert.equal(e.code, 0, show(e));
    }
    const run1 = await lifeboat(config, ['run']);
    assert.equal(run1.code, 0, show(run1));
    await writeTree(docs, { 'notes.txt': 'second version, a little longer\n', 'invoices/2025-04.pdf': 'invoice april\n' });
    const run2 = await lifeboat(config, ['run']);
    assert.equal(run2.code, 0, show(run2));
  });

  after(async () => {
    await s?.cleanup();
  });

  it('drill restores and verifies the first slice of the newest snapshot, prints coverage, and compares the mirror with the source', async () => {
    const r = await lifeboat(config, ['drill']);
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, new RegExp(`^PASSED +docs -> repo: snapshot [0-9a-f]{8}, ${PER_DRILL}/${TOTAL} files restored and verified \\(.+\\), round 1 coverage ${Math.round((PER_DRILL / TOTAL) * 100)}%`, 'm'));
    // Issue 16: a mirror is no longer skipped; its drill compares it with the live source.
    assert.match(r.stdout, new RegExp(`^PASSED +docs -> mirror: mirror, ${PER_DRILL}/${TOTAL} files checked against the live source`, 'm'));
    assert.doesNotMatch(r.stdout, /FAILED|damaged/);
    lastCoverage = PER_DRILL / TOTAL;
    // Tagging rewrites the snapshot under a new id: the drill names the drilled one and the one that now exists.
    const snaps = await resticSnapshots(repo, passwordFile, 'source:docs');
    assert.equal(snaps.length, 2);
    const ids = /^PASSED +docs -> repo: snapshot ([0-9a-f]{8}), .*; snapshot \1 verified, now ([0-9a-f]{8})/m.exec(r.stdout);
    assert.ok(ids, `no "snapshot A verified, now B":\n${r.stdout}`);
    assert.equal(ids[2], snaps[1]!.short_id, `restic's snapshots: ${snaps.map((x) => `${x.short_id} ${x.tags}`).join('; ')}`);
    assert.notEqual(ids[1], ids[2]);
    assert.ok(!snaps.some((x) => x.short_id === ids[1]), 'the drilled id is gone, as after restic tag');
  });

  it('repeated drills (rotation 7) restore every file once per round, then start round 2', async () => {
    let restored = PER_DRILL;
    let drills = 1;
    while (lastCoverage < 1) {
      const { code, lines } = await drillJson();
      assert.equal(code, 0, JSON.stringify(lines));
      assert.equal(lines.length, 1);
      const d = lines[0]!;
      drills++;
      assert.equal(d.outcome, 'passed', JSON.stringify(d));
      assert.equal(d.round, 1);
      assert.equal(d.totalFiles, TOTAL);
      assert.equal(d.findings.length, 0);
      restored += d.filesChecked;
      assert.equal(d.coverage, Math.min(restored, TOTAL) / TOTAL, `drill ${drills}`);
      assert.ok(d.coverage > lastCoverage, `coverage grows: ${lastCoverage} -> ${d.coverage}`);
      lastCoverage = d.coverage;
      assert.ok(drills <= 7, `a round of rotation 7 took more than 7 drills (${drills})`);
    }
    assert.equal(restored, TOTAL, 'each file restored exactly once in the round');
    assert.equal(drills, 7);

    const next = (await drillJson()).lines[0]!;
    assert.equal(next.outcome, 'passed');
    assert.equal(next.round, 2);
    assert.equal(next.filesChecked, PER_DRILL);
    assert.equal(next.coverage, PER_DRILL / TOTAL);
    lastCoverage = next.coverage;
  });

  it('a passed drill tags the newest snapshot verified, as restic sees it, and restic check accepts the result', async () => {
    const snaps = await resticSnapshots(repo, passwordFile, 'source:docs');
    assert.equal(snaps.length, 2);
    const [older, newest] = snaps as [(typeof snaps)[0], (typeof snaps)[0]];
    assert.ok(newest.tags?.includes('verified'), `tags of the newest: ${newest.tags}`);
    assert.ok(!older.tags?.includes('verified'), `tags of the older: ${older.tags}`);
    const chk = await restic(repo, passwordFile, ['check']);
    assert.equal(chk.code, 0, show(chk));
  });

  it('status --json shows the last drill and its coverage for the repository cell and for the mirror cell', async () => {
    const r = await lifeboat(config, ['status', '--json']);
    assert.equal(r.code, 0, show(r));
    const cells = (JSON.parse(r.stdout) as { cells: StatusCell[] }).cells;
    const repoCell = cells.find((c) => c.source === 'docs' && c.destination === 'repo');
    const mirrorCell = cells.find((c) => c.source === 'docs' && c.destination === 'mirror');
    assert.ok(repoCell && mirrorCell, r.stdout);
    assert.ok(repoCell.last_drill !== null && Date.now() - Date.parse(repoCell.last_drill) < 120_000, `last_drill ${repoCell.last_drill}`);
    assert.equal(repoCell.last_drill_ok, true);
    assert.equal(repoCell.drill_coverage, lastCoverage);
    // Issue 16: the mirror was drilled once (the first drill; the others named the repository).
    assert.equal(mirrorCell.last_drill_ok, true);
    assert.equal(mirrorCell.drill_coverage, PER_DRILL / TOTAL);
  });

  it('after one flipped byte in a data blob, drill --full fails and names the pack and the file', async () => {
    damaged = await locateSmallFile(repo, passwordFile, BIG);
    await flipPackByte(repo, damaged.pack, damaged.offset + Math.floor(damaged.length / 2));

    const r = await lifeboat(config, ['drill', '--full', '--source', 'docs']);
    assert.equal(r.code, 1, show(r));
    assert.match(r.stdout, new RegExp(`^FAILED +docs -> repo: snapshot [0-9a-f]{8}, ${TOTAL}/${TOTAL} files checked .*coverage 100%`, 'm'));
    assert.match(r.stdout, new RegExp(`^ +damaged: ${path.join(docs, 'photos/big.jpg')}: cannot be restored`, 'm'));
    assert.match(r.stdout, new RegExp(`^ +damaged: pack ${damaged.pack.slice(0, 8)}: `, 'm'));
    const files = r.stdout.split('\n').filter((l) => /^ +damaged: \//.test(l));
    assert.equal(files.length, 1, `only the damaged file is named:\n${r.stdout}`);

    const status = await lifeboat(config, ['status', '--json']);
    const cells = (JSON.parse(status.stdout) as { cells: StatusCell[] }).cells;
    assert.equal(cells.find((c) => c.source === 'docs' && c.destination === 'repo')!.last_drill_ok, false);
  });

  it('check without --read-data sees a sound structure; check --read-data names the pack, the snapshots and what to do', async () => {
    const quick = await lifeboat(config, ['check', '--destination', 'repo']);
    assert.equal(quick.code, 0, show(quick));
    assert.match(quick.stdout, /^repo: no errors/m);

    const snaps = await resticSnapshots(repo, passwordFile, 'source:docs');
    const r = await lifeboat(config, ['check', '--read-data']);
    assert.equal(r.code, 1, show(r));
    assert.match(r.stdout, /^repo: \d+ problems? /m);
    assert.match(r.stdout, new RegExp(`^ +damaged pack ${damaged.pack.slice(0, 8)}: `, 'm'));
    const affects = /^ +affects snapshots (.+)$/m.exec(r.stdout);
    assert.ok(affects, `no "affects snapshots" line:\n${r.stdout}`);
    // big.jpg is unchanged between the runs: both snapshots share the damaged blob.
    for (const sn of snaps) assert.ok(affects[1]!.includes(sn.id.slice(0, 8)), `snapshot ${sn.id.slice(0, 8)} not named in: ${affects[0]}`);
    assert.match(r.stdout, /^ +what to do: .+/m);
    assert.match(r.stdout, /^mirror: mirror \(plain files\)/m);
  });

  it('the files the damage does not touch still restore identically; the damaged one is reported, not crashed on', async () => {
    const live = await treeDigest(docs);
    const target = s.path('restore', 'good');
    const keep = ['photos/small.jpg', 'contracts/lease.pdf'];
    // Restore reads blob by blob: a file whose blob shares the damaged pack is unaffected too.
    assert.equal((await locateSmallFile(repo, passwordFile, FILES['photos/small.jpg'] as Buffer)).pack, damaged.pack);
    const r = await lifeboat(config, ['restore', '--source', 'docs', ...keep.flatMap((k) => ['--path', path.join(docs, k)]), '--target', target]);
    assert.equal(r.code, 0, show(r));
    assert.deepEqual(await treeDigest(path.join(target, docs)), Object.fromEntries(keep.sort().map((k) => [k, live[k]])));

    const bad = await lifeboat(config, ['restore', '--source', 'docs', '--path', path.join(docs, 'photos/big.jpg'), '--target', s.path('restore', 'big')]);
    assert.equal(bad.code, 1, show(bad));
    assert.match(bad.stdout + bad.stderr, /photos\/big\.jpg/);
  });
});

describe('drills go on past destinations that cannot be drilled', () => {
  let s: Scratch;
  let config: string;
  let passwordFile: string;
  let repo: string;

  before(async () => {
    requireTools();
    s = await Scratch.create('drill-gone');
    passwordFile = await s.passwordFile();
    const otherPassword = s.path('secrets', 'other');
    await fsp.writeFile(otherPassword, 'the password it was made with\n', { mode: 0o600 });
    repo = s.path('repo');
    const docs = s.path('live', 'docs');
    await writeTree(docs, { 'a.txt': 'alpha\n', 'b.txt': 'beta\n' });
    config = s.path('lifeboat.yaml');
    const dest = (name: string, pw: string): string => `  ${name}:\n    kind: local\n    path: ${s.path(name)}\n    password_file: ${pw}\n`;
    // The two broken ones come first: today the first one ended the drills with rc 10.
    await fsp.writeFile(
      config,
      `state_dir: ${s.path('state')}
hostname: drill-host
destinations:
${dest('emptied', passwordFile)}${dest('rekeyed', otherPassword)}${dest('repo', passwordFile)}sources:
  docs:
    paths: [${docs}]
    priority: high
    frequency: daily
    destinations: [emptied, rekeyed, repo]
`,
    );
    for (const d of ['emptied', 'rekeyed', 'repo']) {
      const e = await lifeboat(config, ['drive', 'enroll', d]);
      assert.equal(e.code, 0, show(e));
    }
    const r = await lifeboat(config, ['run']);
    assert.equal(r.code, 0, show(r));
    // A drive that is mounted but holds no repository any more, and one whose password changed.
    for (const e of await fsp.readdir(s.path('emptied'))) await fsp.rm(s.path('emptied', e), { recursive: true, force: true });
    await fsp.writeFile(otherPassword, 'not the password it was made with\n');
  });

  after(async () => {
    await s?.cleanup();
  });

  it('each broken destination fails with its reason and no repo-init advice, the good one is still drilled, the exit is non-zero', async () => {
    const r = await lifeboat(config, ['drill']);
    assert.equal(r.code, 1, show(r));
    assert.match(r.stdout, /^FAILED +docs -> emptied: Cannot open the repository of destination emptied: there is no repository on .*emptied.* \(no config file, no enrolment marker\) \[NO_REPOSITORY\]$/m);
    assert.match(r.stdout, /^FAILED +docs -> rekeyed: .*\[WRONG_PASSWORD\]$/m);
    assert.match(r.stdout, /^PASSED +docs -> repo: snapshot [0-9a-f]{8}, 1\/2 files restored and verified/m);
    assert.doesNotMatch(r.stdout + r.stderr, /repo init/);

    const st = await lifeboat(config, ['status', '--json']);
    const cells = (JSON.parse(st.stdout) as { cells: StatusCell[] }).cells;
    assert.deepEqual(
      cells.map((c) => [c.destination, c.last_drill_ok]),
      [
        ['emptied', false],
        ['rekeyed', false],
        ['repo', true],
      ],
    );
  });

  it('the JSON names the snapshot a pass re-tagged and the id it had before; a drill of an already verified snapshot names one', async () => {
    await writeTree(s.path('live', 'docs'), { 'c.txt': 'gamma\n' });
    assert.equal((await lifeboat(config, ['run', '--destination', 'repo'])).code, 0);
    const [, newest] = await resticSnapshots(repo, passwordFile, 'source:docs');
    assert.ok(newest && !newest.tags?.includes('verified'));
    const first = jsonLines<DrillLine & { retaggedFrom?: string }>((await lifeboat(config, ['drill', '--destination', 'repo', '--json'])).stdout);
    assert.equal(first.length, 1);
    assert.equal(first[0]!.outcome, 'passed');
    assert.equal(first[0]!.retaggedFrom, newest.id);
    const now = (await resticSnapshots(repo, passwordFile, 'verified')).find((x) => x.time === newest.time);
    assert.equal(first[0]!.snapshot, now?.id);
    assert.notEqual(now?.id, newest.id);

    const again = jsonLines<DrillLine & { retaggedFrom?: string }>((await lifeboat(config, ['drill', '--destination', 'repo', '--json'])).stdout)[0]!;
    assert.equal(again.snapshot, now?.id);
    assert.equal(again.retaggedFrom, undefined);
  });
});
