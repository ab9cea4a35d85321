/**
 * `lifeboat restore` end to end, through the CLI: a paths source backed up twice into a local
 * repository and a local mirror. Dry runs plan without writing; snapshots are picked by id
 * prefix, by date or as latest; in-place restores need --yes (no TTY here), put the live tree
 * back and first keep what they overwrite in a `pre-restore` snapshot that itself restores; an
 * interrupted restore resumes; --path narrows the restore, from a repository and from a mirror.
 */
import assert from 'node:assert/strict';
import { existsSync, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertNoStack, cleanEnv, jsonLines, lifeboat, lifeboatRaw, listTree, localDate, localDateTime, requireTools, restic, resticSnapshots, ROOT, run, Scratch, seededBytes, show, treeDigest, writeTree, type ResticSnapshot } from './harness.ts';

interface PlanJson {
  readonly kind: 'plan';
  readonly snapshot: string;
  readonly entries: { path: string; type: string; action: 'new' | 'replace' | 'unchanged' | 'refused' }[];
}

const FIRST: Record<string, string | Buffer> = {
  'notes.txt': 'first version\n',
  'readme.md': '# docs\n',
  'invoices/2025-01.pdf': seededBytes(11, 20_000),
  'invoices/2025-02.pdf': seededBytes(12, 25_000),
  'photos/cat.jpg': seededBytes(13, 150_000),
};
const SECOND: Record<string, string | Buffer> = {
  'notes.txt': 'second version, longer than the first\n',
  'invoices/2025-03.pdf': seededBytes(14, 30_000),
};

describe('restore from a repository and a mirror', () => {
  let s: Scratch;
  let config: string;
  let passwordFile: string;
  let repo: string;
  let docs: string;
  let stateA: Record<string, string>;
  let stateB: Record<string, string>;
  let snapA: ResticSnapshot;
  let snapB: ResticSnapshot;
  let undoLine: string | undefined;

  const restore = (...args: string[]) => lifeboat(config, ['restore', '--source', 'docs', ...args]);
  /** What a target holds of the source, relative to the source directory. */
  const restored = (target: string): Promise<Record<string, string>> => treeDigest(path.join(target, docs));

  before(async () => {
    requireTools('rsync');
    s = await Scratch.create('restore');
    passwordFile = await s.passwordFile();
    repo = s.path('repo');
    docs = s.path('live', 'docs');
    await writeTree(docs, FIRST);
    config = s.path('lifeboat.yaml');
    await fsp.writeFile(
      config,
      `state_dir: ${s.path('state')}
hostname: restore-host
destinations:
  repo:
    kind: local
    path: ${repo}
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
    stateA = await treeDigest(docs);
    // The two snapshots lie in different seconds, so a date with seconds can tell them apart.
    await new Promise((r) => setTimeout(r, 1100));
    await writeTree(docs, SECOND);
    const run2 = await lifeboat(config, ['run']);
    assert.equal(run2.code, 0, show(run2));
    stateB = await treeDigest(docs);
    [snapA, snapB] = (await resticSnapshots(repo, passwordFile)) as [ResticSnapshot, ResticSnapshot];
    assert.ok(snapA && snapB);
  });

  after(async () => {
    await s?.cleanup();
  });

  it('--dry-run into a fresh target lists every file as new and writes nothing', async () => {
    const target = s.path('t', 'dry');
    const r = await restore('--dry-run', '--target', target);
    assert.equal(r.code, 0, show(r));
    const files = Object.keys(stateB);
    for (const f of files) assert.match(r.stdout, new RegExp(`^new +${path.join(docs, f)}$`, 'm'));
    assert.match(r.stdout, new RegExp(`^dry run from repo snapshot ${snapB.short_id}: ${files.length} new, 0 replaced, 0 unchanged; nothing was written$`, 'm'));
    assert.equal(existsSync(target), false, 'the target is not even created');
  });

  it('--in-place --dry-run shows new, replace and unchanged against the live tree and changes nothing', async () => {
    await fsp.writeFile(path.join(docs, 'notes.txt'), 'edited on the live system\n');
    await fsp.rm(path.join(docs, 'readme.md'));
    const live = await treeDigest(docs);
    const r = await restore('--in-place', '--dry-run', '--json');
    assert.equal(r.code, 0, show(r));
    const plan = JSON.parse(r.stdout) as PlanJson;
    assert.equal(plan.snapshot, snapB.id);
    const actions = Object.fromEntries(plan.entries.filter((e) => e.type === 'file').map((e) => [path.relative(docs, e.path), e.action]));
    assert.deepEqual(actions, {
      'invoices/2025-01.pdf': 'unchanged',
      'invoices/2025-02.pdf': 'unchanged',
      'invoices/2025-03.pdf': 'unchanged',
      'notes.txt': 'replace',
      'photos/cat.jpg': 'unchanged',
      'readme.md': 'new',
    });
    assert.deepEqual(await treeDigest(docs), live, 'a dry run changes nothing');
  });

  it('--in-place without --yes and without a TTY is refused with exit 2, and nothing changes', async () => {
    const live = await treeDigest(docs);
    const r = await restore('--in-place');
    assert.equal(r.code, 2, show(r));
    assert.match(r.stderr, /^lifeboat: An in-place restore overwrites live files: confirm it \(--yes\)/m);
    assert.deepEqual(await treeDigest(docs), live);
    assert.equal((await resticSnapshots(repo, passwordFile)).length, 2, 'no safety snapshot either');
  });

  it('--in-place --yes puts the snapshot state back and first keeps the overwritten files in a pre-restore snapshot', async () => {
    const r = await restore('--in-place', '--yes');
    assert.equal(r.code, 0, show(r));
    const m = /^safety snapshot ([0-9a-f]{8}) \(tags pre-restore, pre-restore-of:docs; kept 30 days\) holds what was there before$/m.exec(r.stdout);
    assert.ok(m, r.stdout);
    undoLine = /^to undo this restore: (.*)$/m.exec(r.stdout)?.[1];
    assert.match(r.stdout, new RegExp(`^restored \\d+ files .* from repo snapshot ${snapB.short_id} into /; \\d+ verified`, 'm'));
    assert.deepEqual(await treeDigest(docs), stateB, 'the live tree is the snapshot again');

    const safety = await resticSnapshots(repo, passwordFile, 'pre-restore');
    assert.equal(safety.length, 1);
    assert.equal(safety[0]!.short_id, m[1]);
    // Never the source's tag: restic's --tag source:docs and lifeboat's latest must not see it.
    assert.deepEqual([...(safety[0]!.tags ?? [])].sort(), ['pre-restore', 'pre-restore-of:docs']);
    // The safety snapshot restores like any other and holds the edited, pre-restore state.
    const undo = s.path('t', 'undo');
    const u = await lifeboatRaw(['repo', 'restore', '--repo', repo, '--password-file', passwordFile, safety[0]!.id, '--target', undo]);
    assert.equal(u.code, 0, show(u));
    const before = await restored(undo);
    assert.equal(await fsp.readFile(path.join(undo, docs, 'notes.txt'), 'utf8'), 'edited on the live system\n');
    assert.equal('readme.md' in before, false, 'readme.md was absent before the restore');
    assert.equal(before['photos/cat.jpg'], stateB['photos/cat.jpg']);
  });

  it('plain restic restore latest --tag source:docs after an in-place restore brings back the newest backup, not the pre-restore state', async () => {
    const tagged = await resticSnapshots(repo, passwordFile, 'source:docs');
    assert.deepEqual(tagged.map((x) => x.id), [snapA.id, snapB.id], 'the safety snapshot is not one of the source\'s snapshots for restic');
    const target = s.path('t', 'restic-latest');
    const r = await restic(repo, passwordFile, ['restore', 'latest', '--tag', 'source:docs', '--target', target]);
    assert.equal(r.code, 0, show(r));
    assert.deepEqual(await restored(target), stateB);
    // Nor is it lifeboat's latest.
    const latest = await restore('--dry-run', '--json', '--target', s.path('t', 'latest'));
    assert.equal((JSON.parse(latest.stdout) as PlanJson).snapshot, snapB.id, show(latest));
  });

  it('the undo command an in-place restore prints runs as printed and puts the pre-restore files back', async () => {
    assert.ok(undoLine, 'the in-place restore printed an undo command');
    const [safety] = await resticSnapshots(repo, passwordFile, 'pre-restore');
    assert.equal(undoLine, `lifeboat restore --source docs --destination repo --snapshot ${safety!.short_id} --in-place --yes --config ${config}`);
    // As an operator would paste it: through a shell, with lifeboat on PATH.
    const u = await run('sh', ['-c', undoLine], cleanEnv({ PATH: `${path.join(ROOT, 'bin')}:${process.env.PATH}` }));
    assertNoStack(u);
    assert.equal(u.code, 0, show(u));
    assert.match(u.stdout, new RegExp(`from repo snapshot ${safety!.short_id} into /`));
    assert.equal(await fsp.readFile(path.join(docs, 'notes.txt'), 'utf8'), 'edited on the live system\n', 'the edit the restore overwrote is back');
    assert.equal((await treeDigest(docs))['photos/cat.jpg'], stateB['photos/cat.jpg']);
    assert.ok(existsSync(path.join(docs, 'readme.md')), 'a file the restore added stays (restore never deletes), as the README says');
    // The undo kept what it overwrote too, so it can itself be undone.
    assert.equal((await resticSnapshots(repo, passwordFile, 'pre-restore')).length, 2);
  });

  it('--snapshot picks an id prefix, a date or date-time (the newest at or before it), and refuses a date before every snapshot', async () => {
    const older = s.path('t', 'older');
    const r = await restore('--snapshot', snapA.short_id, '--target', older);
    assert.equal(r.code, 0, show(r));
    assert.deepEqual(await restored(older), stateA);

    // Today (local time, as the command reads dates): the newest regular snapshot, never the
    // pre-restore safety snapshot made after it.
    const today = await restore('--snapshot', localDate(new Date()), '--dry-run', '--json', '--target', s.path('t', 'today'));
    assert.equal(today.code, 0, show(today));
    assert.equal((JSON.parse(today.stdout) as PlanJson).snapshot, snapB.id);

    // The second in which the first snapshot was taken: the newest at or before it is that one.
    const atA = await restore('--snapshot', localDateTime(new Date(snapA.time)), '--dry-run', '--json', '--target', s.path('t', 'at-a'));
    assert.equal(atA.code, 0, show(atA));
    assert.equal((JSON.parse(atA.stdout) as PlanJson).snapshot, snapA.id);

    const early = s.path('t', 'early');
    const none = await restore('--snapshot', '2000-01-01', '--target', early);
    assert.equal(none.code, 1, show(none));
    assert.match(none.stderr, /^lifeboat: No snapshot at or before 2000-01-01; the oldest is from \d{4}-\d{2}-\d{2}/m);
    assert.equal(existsSync(early), false);

    const bad = await restore('--snapshot', 'last-tuesday', '--target', early);
    assert.equal(bad.code, 2, show(bad));
    assert.match(bad.stderr, /Invalid --snapshot "last-tuesday"/);
  });

  it('an interrupted restore resumes: complete files are kept, missing and truncated ones are written again', async () => {
    const target = s.path('t', 'resume');
    const first = await restore('--target', target);
    assert.equal(first.code, 0, show(first));
    assert.deepEqual(await restored(target), stateB);

    await fsp.rm(path.join(target, docs, 'invoices/2025-01.pdf'));
    await fsp.truncate(path.join(target, docs, 'photos/cat.jpg'), 4096);
    const total = Object.keys(stateB).length;
    const again = await restore('--target', target);
    assert.equal(again.code, 0, show(again));
    assert.match(again.stdout, new RegExp(`; ${total} verified, ${total - 2} already complete$`, 'm'));
    assert.deepEqual(await restored(target), stateB);
  });

  it('--path restores only that path (a directory, or a single file)', async () => {
    const target = s.path('t', 'path');
    const r = await restore('--path', path.join(docs, 'invoices'), '--path', path.join(docs, 'notes.txt'), '--target', target);
    assert.equal(r.code, 0, show(r));
    const want = Object.fromEntries(Object.entries(stateB).filter(([k]) => k.startsWith('invoices/') || k === 'notes.txt'));
    assert.deepEqual(await restored(target), want);
    assert.deepEqual(await listTree(path.join(target, docs)), ['invoices/', 'invoices/2025-01.pdf', 'invoices/2025-02.pdf', 'invoices/2025-03.pdf', 'notes.txt']);
  });

  it('--path that is not in the snapshot fails (NOT_FOUND) naming it and the nearest path, into a target, in place and in a dry run, from a repository and a mirror', async () => {
    const live = await treeDigest(docs);
    const snapshots = (await resticSnapshots(repo, passwordFile)).length;
    const target = s.path('t', 'missing');
    const esc = (x: string): string => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const typo = path.join(docs, 'invoice', '2025-01.pdf');
    for (const dest of ['repo', 'mirror']) {
      for (const mode of [['--target', target], ['--dry-run', '--target', target], ['--in-place', '--yes'], ['--in-place', '--dry-run']]) {
        const r = await restore('--destination', dest, '--path', typo, ...mode);
        assert.equal(r.code, 1, show(r));
        const where = dest === 'repo' ? `snapshot ${snapB.short_id} of docs on repo` : 'mirror mirror';
        assert.match(r.stderr, new RegExp(`^lifeboat: Cannot restore ${esc(typo)}: it is not in ${where} \\[NOT_FOUND\\]$`, 'm'));
        assert.match(r.stderr, new RegExp(`^  hint: did you mean ${esc(path.join(docs, 'invoices'))}\\? \\(the nearest path there is ${esc(docs)}\\)$`, 'm'));
      }
      // Nothing close to the missing name: the longest ancestor that is there.
      const far = await restore('--destination', dest, '--path', path.join(docs, 'photos', 'zebra-herd'), '--target', target);
      assert.equal(far.code, 1, show(far));
      assert.match(far.stderr, new RegExp(`^  hint: the nearest path there is ${esc(path.join(docs, 'photos'))}$`, 'm'));
    }
    assert.equal(existsSync(target), false, 'nothing was restored');
    assert.deepEqual(await treeDigest(docs), live, 'the live tree is untouched');
    assert.equal((await resticSnapshots(repo, passwordFile)).length, snapshots, 'no safety snapshot was taken for a restore that cannot happen');
  });

  it('--destination mirror restores the current copy with rsync, honours --path, and refuses older snapshots', async () => {
    const all = s.path('t', 'mirror-all');
    const r = await restore('--destination', 'mirror', '--target', all);
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, new RegExp(`^restored from mirror mirror into ${all}$`, 'm'));
    assert.deepEqual(await restored(all), stateB);

    const one = s.path('t', 'mirror-one');
    const p = await restore('--destination', 'mirror', '--path', path.join(docs, 'photos'), '--target', one);
    assert.equal(p.code, 0, show(p));
    assert.deepEqual(await listTree(path.join(one, docs)), ['photos/', 'photos/cat.jpg']);
    assert.deepEqual(await restored(one), { 'photos/cat.jpg': stateB['photos/cat.jpg'] });

    const old = await restore('--destination', 'mirror', '--snapshot', snapA.short_id, '--target', s.path('t', 'mirror-old'));
    assert.equal(old.code, 2, show(old));
    assert.match(old.stderr, /mirror is a mirror: it holds the current copy/);
  });

  it('a drill after an in-place restore drills the newest real backup, not the safety snapshot', async () => {
    const r = await lifeboat(config, ['drill', '--json', '--source', 'docs', '--destination', 'repo']);
    assert.equal(r.code, 0, show(r));
    const d = jsonLines<{ outcome: string; snapshot: string }>(r.stdout)[0]!;
    assert.equal(d.outcome, 'passed');
    const safety = (await resticSnapshots(repo, passwordFile, 'pre-restore'))[0]!;
    assert.ok(!safety.tags?.includes('verified'), `the safety snapshot must not become the verified copy: ${safety.tags}`);
    const verified = await resticSnapshots(repo, passwordFile, 'verified');
    assert.equal(verified.length, 1);
    assert.equal(verified[0]!.id, d.snapshot);
    assert.equal(verified[0]!.time, snapB.time, 'the verified snapshot is the second backup (re-tagged under a new id)');
  });

  it('snapshots --source lists each destination\'s snapshots of the source, verified and safety ones marked', async () => {
    const all = await resticSnapshots(repo, passwordFile);
    const safety = all.filter((x) => x.tags?.includes('pre-restore'));
    const backups = await resticSnapshots(repo, passwordFile, 'source:docs');
    assert.equal(safety.length, 2);
    assert.equal(backups.length, 2);
    const r = await lifeboat(config, ['snapshots', '--source', 'docs']);
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, /^repo: 4 snapshots of docs$/m);
    for (const b of backups) {
      const mark = b.tags?.includes('verified') ? '  verified' : '';
      assert.match(r.stdout, new RegExp(`^  ${b.short_id}  ${localDateTime(new Date(b.time))}  restore-host  ${docs}  \\[${b.tags!.join(', ')}\\]${mark}$`, 'm'));
    }
    for (const x of safety) assert.match(r.stdout, new RegExp(`^  ${x.short_id}  .*\\[pre-restore, pre-restore-of:docs\\]  safety snapshot of docs, kept until \\d{4}-\\d{2}-\\d{2}, picked only by id$`, 'm'));
    assert.match(r.stdout, /^mirror: mirror: a mirror holds the current copy/m);

    const j = await lifeboat(config, ['snapshots', '--source', 'docs', '--destination', 'repo', '--json']);
    assert.equal(j.code, 0, show(j));
    const [here] = (JSON.parse(j.stdout) as { destinations: { destination: string; state: string; snapshots: { id: string; verified: boolean; safety?: unknown }[] }[] }).destinations;
    assert.equal(here!.destination, 'repo');
    assert.deepEqual(here!.snapshots.map((x) => x.id).sort(), all.map((x) => x.id).sort());
    assert.deepEqual(here!.snapshots.filter((x) => x.safety).map((x) => x.id).sort(), safety.map((x) => x.id).sort());
    assert.equal(here!.snapshots.filter((x) => x.verified).length, 1);

    const typo = await lifeboat(config, ['snapshots', '--source', 'dcos']);
    assert.equal(typo.code, 2, show(typo));
    assert.match(typo.stderr, /did you mean "docs"\?/);
  });
});
