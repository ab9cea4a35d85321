/**
 * Drills of a mirror destination, end to end through the CLI: a paths source (with an exclude)
 * and a command source mirrored by a real `lifeboat run` (real rsync). A drill compares the
 * next slice of the mirror's files with the live source (rotation 7, as for repositories) and
 * is recorded in the state store. Then one mirrored file is corrupted with its size and mtime
 * kept, which rsync's quick check never notices: the drill fails naming it. A mirrored file
 * deleted behind rsync's back is missing; a live file newer than the run and a file only the
 * mirror has are noted, not failed; a source that is empty here fails rather than passing with
 * nothing compared.
 */
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { jsonLines, lifeboat, requireTools, run, Scratch, seededBytes, show, writeTree } from './harness.ts';

interface DrillLine {
  readonly source: string;
  readonly destination: string;
  readonly outcome: 'passed' | 'failed' | 'skipped';
  readonly format: string;
  readonly filesChecked: number;
  readonly totalFiles: number;
  readonly coverage: number;
  readonly round: number;
  readonly findings: { path: string; problem: string }[];
  readonly notes: string[];
}

const FILES: Record<string, string | Buffer> = {
  'a/one.txt': 'one\n',
  'a/two.txt': 'two\n',
  'b/deep/three.bin': seededBytes(7, 50_000),
  'b/four.txt': 'four\n',
  'five.txt': 'five\n',
  'six.bin': seededBytes(8, 20_000),
  'seven.txt': 'seven\n',
  'eight.txt': 'eight\n',
  'scratch.tmp': 'excluded: never mirrored, never missing\n',
};
const TOTAL = 8;
const PER_DRILL = Math.ceil(TOTAL / 7);

describe('drill of a mirror destination', () => {
  let s: Scratch;
  let config: string;
  let docs: string;
  let copy: string;

  const drillJson = async (...extra: string[]): Promise<{ code: number | null; lines: DrillLine[] }> => {
    const r = await lifeboat(config, ['drill', '--destination', 'mirror', '--json', ...extra]);
    return { code: r.code, lines: jsonLines<DrillLine>(r.stdout) };
  };

  before(async () => {
    requireTools('rsync');
    s = await Scratch.create('mirror-drill');
    docs = s.path('live', 'docs');
    await writeTree(docs, FILES);
    copy = s.path('mirror', 'current', 'docs', 'docs');
    config = s.path('lifeboat.yaml');
    await fsp.writeFile(
      config,
      `state_dir: ${s.path('state')}
hostname: mirror-host
destinations:
  mirror:
    kind: local
    path: ${s.path('mirror')}
    format: mirror
sources:
  docs:
    paths: [${docs}]
    exclude: ["*.tmp"]
    priority: high
    frequency: daily
    destinations: [mirror]
  motd:
    command: "printf 'hello\\n'"
    filename: motd.txt
    priority: low
    frequency: daily
    destinations: [mirror]
`,
    );
    const e = await lifeboat(config, ['drive', 'enroll', 'mirror']);
    assert.equal(e.code, 0, show(e));
    const r = await lifeboat(config, ['run']);
    assert.equal(r.code, 0, show(r));
    assert.equal(await fsp.readFile(path.join(copy, 'five.txt'), 'utf8'), 'five\n', 'rsync mirrored the source');
  });

  after(async () => {
    await s?.cleanup();
  });

  it('a clean mirror passes: the first slice is compared with the live source, the excluded file is not missing, status records it', async () => {
    const r = await lifeboat(config, ['drill']);
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, new RegExp(`^PASSED +docs -> mirror: mirror, ${PER_DRILL}/${TOTAL} files checked against the live source \\(.+\\), round 1 coverage ${Math.round((PER_DRILL / TOTAL) * 100)}%$`, 'm'));
    assert.match(r.stdout, /^PASSED +motd -> mirror: mirror, 1\/1 files checked/m);
    assert.doesNotMatch(r.stdout, /damaged|FAILED|SKIPPED|scratch\.tmp/);

    const st = await lifeboat(config, ['status', '--json']);
    const cell = (JSON.parse(st.stdout) as { cells: { source: string; last_drill: string | null; last_drill_ok: boolean | null; drill_coverage: number | null }[] }).cells.find((c) => c.source === 'docs');
    assert.ok(cell?.last_drill && Date.now() - Date.parse(cell.last_drill) < 120_000, st.stdout);
    assert.equal(cell.last_drill_ok, true);
    assert.equal(cell.drill_coverage, PER_DRILL / TOTAL);
  });

  it('repeated drills compare every mirrored file once per round (rotation 7), then start round 2', async () => {
    let compared = PER_DRILL;
    let drills = 1;
    let coverage = PER_DRILL / TOTAL;
    while (coverage < 1) {
      const d = (await drillJson('--source', 'docs')).lines[0]!;
      drills++;
      assert.equal(d.outcome, 'passed', JSON.stringify(d));
      assert.equal(d.format, 'mirror');
      assert.equal(d.round, 1);
      compared += d.filesChecked;
      assert.equal(d.coverage, compared / TOTAL);
      coverage = d.coverage;
      assert.ok(drills <= 7, `a round took more than 7 drills (${drills})`);
    }
    assert.equal(compared, TOTAL);
    const next = (await drillJson('--source', 'docs')).lines[0]!;
    assert.deepEqual([next.round, next.filesChecked], [2, PER_DRILL]);
  });

  it('a mirrored file corrupted with size and mtime kept fails the drill, which names it; status records the failure', async () => {
    const victim = path.join(copy, 'b', 'deep', 'three.bin');
    const bytes = await fsp.readFile(victim);
    bytes[1000] = bytes[1000]! ^ 0x01;
    await fsp.writeFile(victim, bytes);
    const t = await run('touch', ['-r', path.join(docs, 'b', 'deep', 'three.bin'), victim]); // exact ns
    assert.equal(t.code, 0, show(t));

    const r = await lifeboat(config, ['drill', '--full', '--source', 'docs']);
    assert.equal(r.code, 1, show(r));
    assert.match(r.stdout, new RegExp(`^FAILED +docs -> mirror: mirror, ${TOTAL}/${TOTAL} files checked against`, 'm'));
    const damaged = r.stdout.split('\n').filter((l) => /^ +damaged: /.test(l));
    assert.deepEqual(damaged, [`   damaged: ${path.join(docs, 'b', 'deep', 'three.bin')}: the mirror's copy ${victim} differs from the live file although size and mtime are unchanged (silent corruption on one side)`]);

    const st = await lifeboat(config, ['status', '--json']);
    assert.equal((JSON.parse(st.stdout) as { cells: { source: string; last_drill_ok: boolean | null }[] }).cells.find((c) => c.source === 'docs')?.last_drill_ok, false);
    await fsp.copyFile(path.join(docs, 'b', 'deep', 'three.bin'), victim); // repaired for the next test
    await run('touch', ['-r', path.join(docs, 'b', 'deep', 'three.bin'), victim]);
  });

  it('a mirrored file deleted behind rsync is missing; a live file newer than the run and a file only the mirror has are noted', async () => {
    await fsp.rm(path.join(copy, 'seven.txt'));
    await fsp.writeFile(path.join(docs, 'nine.txt'), 'written after the mirror run\n');
    await fsp.writeFile(path.join(copy, 'stray.txt'), 'only in the mirror\n');

    const { code, lines } = await drillJson('--full', '--source', 'docs');
    assert.equal(code, 1, JSON.stringify(lines));
    const d = lines[0]!;
    assert.equal(d.outcome, 'failed');
    assert.deepEqual(
      d.findings.map((f) => f.path),
      [path.join(docs, 'seven.txt')],
    );
    assert.match(d.findings[0]!.problem, /^missing from the mirror, although it was there before the last mirror run/);
    assert.ok(d.notes.includes('1 live file newer than the last mirror run, not in the mirror yet'), JSON.stringify(d.notes));
    assert.ok(d.notes.some((n) => n.startsWith(`1 file in the mirror no longer in the source`) && n.includes(path.join(copy, 'stray.txt'))), JSON.stringify(d.notes));
  });

  it('a source never mirrored yet is skipped, as a repository cell without a snapshot is', async () => {
    await fsp.appendFile(config, `  later:\n    paths: [${docs}]\n    priority: low\n    frequency: daily\n    destinations: [mirror]\n`);
    const r = await lifeboat(config, ['drill', '--source', 'later']);
    assert.equal(r.code, 0, show(r));
    assert.equal(r.stdout, 'SKIPPED later -> mirror: no mirror run of this source yet\n');
  });

  it('a source that is empty here (a share not mounted) fails the drill instead of passing with nothing compared', async () => {
    await fsp.rename(docs, `${docs}.away`);
    await fsp.mkdir(docs);
    try {
      const { code, lines } = await drillJson('--source', 'docs');
      assert.equal(code, 1, JSON.stringify(lines));
      assert.deepEqual(
        lines[0]!.findings.map((f) => [f.path, f.problem.replace(/\d+ files/, 'N files')]),
        [[docs, 'holds no files on this machine (not mounted?) while the mirror holds N files: nothing to compare with']],
      );
    } finally {
      await fsp.rm(docs, { recursive: true });
      await fsp.rename(`${docs}.away`, docs);
    }
  });
});
