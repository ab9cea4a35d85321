/**
 * Oracle: the real restic 0.14 decides, our matcher must agree path for path. A temp tree is
 * backed up with exclude files / flags and the snapshot listing is compared with a walk that
 * applies our matcher the way restic's archiver does; then restores with `--include` are
 * compared with a walk of the snapshot that applies includeMatch the way restic's restorer does.
 * Skipped when no restic binary is available.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { lstat, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { compilePatterns, readExcludeFile, type Env, type Matcher } from './index.ts';

const run = promisify(execFile);
const RESTIC = '/usr/bin/restic';
/** Entries below the tree root; a trailing '/' makes an (empty) directory. */
const TREE = [
  'mnt/media/tmp/partial.mkv',
  'mnt/media/tmpfiles/keep.mkv',
  'mnt/media/movies/film.mkv',
  'mnt/media/movies/film.mkv.tmp',
  'mnt/media/movies/film.tmp.mkv',
  'mnt/media/movies/notes.bak',
  'mnt/media/movies/tmp',
  'mnt/hot/downloads/incomplete/ubuntu.iso.part',
  'mnt/hot/downloads/complete/ubuntu.iso',
  'mnt/hot/surveillance/tmp',
  'mnt/hot/surveillance/cam1/clip.mp4',
  'home/alice/.cache/thumbs/a.png',
  'home/alice/.cache.d/keep',
  'home/alice/docs/report.odt',
  'home/alice/docs/old.bak/inner.txt',
  'home/alice/docs/Report.BAK',
  '.cache/at-tree-root',
  'etc/nixos/configuration.nix',
  'etc/nixos/hardware.nix',
  'data/keep/important.tmp',
  'data/keep/other.tmp',
  'data/skip/wanted.txt',
  'data/skip/unwanted.txt',
  'data/a[1].txt',
  'data/a1.txt',
  'data/q?.txt',
  'data/qx.txt',
  'data/star*.txt',
  'data/starry.txt',
  'data/price$.txt',
  'data/pricey.txt',
  'data/café.txt',
  'data/cafe.txt',
  'data/logs/app.log.1',
  'data/logs/app.log.x',
  'data/logs/app.log',
  'data/deep/a/b/node_modules/pkg/index.js',
  'data/deep/a/b/src/index.js',
  'data/deep/x/y/z/target.txt',
  'data/deep/target.txt',
  'data/env/sub-value/file',
  'data/env/other/file',
  'data/dash/xy.txt',
  'data/dash/x$-y.txt',
  'data/Upper/File.TXT',
  'empty-dir/',
];

/** The architecture note's backup_excludes.txt, rooted in the temp tree through $ROOT. */
const SAMPLE_FILE = [
  '# backup_excludes.txt from the architecture note, absolute paths moved under $ROOT',
  '*.tmp',
  '*.bak',
  '$ROOT/mnt/media/tmp/',
  '*/.cache/',
  '$ROOT/mnt/hot/downloads/incomplete/',
  '${ROOT}/mnt/hot/surveillance/tmp/',
  '',
].join('\n');

const EXTRA_FILE = [
  '# negation: revives a file excluded by the first file',
  '   !important.tmp   ',
  '$ROOT/data/skip',
  '# restic never descends into data/skip, so this cannot bring wanted.txt back',
  '!$ROOT/data/skip/wanted.txt',
  'data/a\\[1\\].txt',
  'data/q\\?.txt',
  'data/star\\*.txt',
  'data/price$$.txt',
  'data/caf[^e].txt',
  '*.log.[0-9]',
  'node_modules',
  '$ROOT/data/deep/**/target.txt',
  '$ROOT/data/env/${SUB}',
  'data/dash/x$-y.txt',
  '$ROOT/etc/*/hardware*',
  '$UNSET_IN_THIS_TEST',
  '/nonexistent/absolute/pattern/',
  '',
].join('\r\n');

type NodeType = 'dir' | 'file';

describe('restic 0.14 oracle', () => {
  let base = '';
  let root = '';
  let resticEnv: Record<string, string> = {};

  const restic = async (args: readonly string[]): Promise<string> => {
    const { stdout } = await run(RESTIC, [...args], { env: resticEnv, maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  };

  const backup = async (args: readonly string[]): Promise<string> => {
    const out = await restic(['backup', '--json', '--host', 'oracle', ...args, root]);
    const summary = out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { message_type?: string; snapshot_id?: string })
      .find((m) => m.message_type === 'summary');
    assert.ok(summary?.snapshot_id, `no summary in restic output: ${out}`);
    return summary.snapshot_id;
  };

  /** Every node of a snapshot: absolute path -> type. */
  const listSnapshot = async (id: string): Promise<Map<string, NodeType>> => {
    const nodes = new Map<string, NodeType>();
    for (const line of (await restic(['ls', '--json', id])).split('\n')) {
      if (!line.startsWith('{')) continue;
      const node = JSON.parse(line) as { struct_type?: string; path?: string; type?: string };
      if (node.struct_type === 'node' && node.path !== undefined) {
        nodes.set(node.path, node.type === 'dir' ? 'dir' : 'file');
      }
    }
    return nodes;
  };

  /** What restic's archiver keeps: skip excluded paths and never descend into them. */
  const expectedBackup = async (matcher: Matcher): Promise<string[]> => {
    const kept: string[] = [root];
    const walk = async (dir: string): Promise<void> => {
      for (const name of await readdir(dir)) {
        const path = `${dir}/${name}`;
        if (matcher.excludes(path)) continue;
        kept.push(path);
        if ((await lstat(path)).isDirectory()) await walk(path);
      }
    };
    await walk(root);
    return kept.sort();
  };

  const underRoot = (paths: Iterable<string>): string[] =>
    [...paths].filter((p) => p === root || p.startsWith(`${root}/`)).sort();

  before(async () => {
    base = await mkdtemp(join(tmpdir(), 'lifeboat-filter-oracle-'));
    root = join(base, 'src');
    for (const entry of TREE) {
      const path = join(root, entry);
      if (entry.endsWith('/')) {
        await mkdir(path, { recursive: true });
      } else {
        await mkdir(dirname(path), { recursive: true });
        await writeFile(path, `content of ${entry}\n`);
      }
    }
    resticEnv = {
      PATH: '/usr/bin:/bin',
      RESTIC_PASSWORD: 'oracle-test',
      RESTIC_REPOSITORY: join(base, 'repo'),
      RESTIC_CACHE_DIR: join(base, 'cache'),
      ROOT: root,
      SUB: 'sub-value',
    };
    await restic(['init']);
  });

  after(async () => {
    if (base !== '') await rm(base, { recursive: true, force: true });
  });

  it('backup --exclude-file with the architecture note sample keeps exactly what excludes() keeps', async () => {
    const file = join(base, 'backup_excludes.txt');
    await writeFile(file, SAMPLE_FILE);
    const id = await backup(['--exclude-file', file]);
    const actual = underRoot((await listSnapshot(id)).keys());
    const matcher = compilePatterns(await readExcludeFile(file, resticEnv as Env));
    assert.deepEqual(actual, await expectedBackup(matcher));
    assert.ok(!actual.includes(`${root}/mnt/hot/surveillance/tmp`), 'a file matched by a trailing-slash pattern is excluded');
    assert.ok(actual.includes(`${root}/mnt/media/movies/tmp`));
  });

  it('two exclude files with negation, escapes, classes, ** and $VAR keep exactly what excludes() keeps', async () => {
    const sample = join(base, 'sample.txt');
    const extra = join(base, 'extra.txt');
    await writeFile(sample, SAMPLE_FILE);
    await writeFile(extra, EXTRA_FILE);
    const id = await backup(['--exclude-file', sample, '--exclude-file', extra]);
    const actual = underRoot((await listSnapshot(id)).keys());
    const patterns = [...(await readExcludeFile(sample, resticEnv as Env)), ...(await readExcludeFile(extra, resticEnv as Env))];
    const expected = await expectedBackup(compilePatterns(patterns));
    assert.deepEqual(actual, expected);
    for (const kept of ['data/keep/important.tmp', 'data/a1.txt', 'data/cafe.txt', 'data/dash/x$-y.txt']) {
      assert.ok(actual.includes(`${root}/${kept}`), `${kept} kept`);
    }
    for (const gone of ['data/keep/other.tmp', 'data/skip/wanted.txt', 'data/café.txt', 'data/price$.txt', 'data/dash/xy.txt']) {
      assert.ok(!actual.includes(`${root}/${gone}`), `${gone} excluded`);
    }
  });

  it('backup --exclude flags are taken literally, like compilePatterns without env', async () => {
    const flags = [`${root}/mnt/hot/`, '**/docs/*.odt', 'data/price$.txt', '$ROOT/etc', 'data/?[!x].txt', 'File.*'];
    const id = await backup(flags.flatMap((f) => ['--exclude', f]));
    const actual = underRoot((await listSnapshot(id)).keys());
    assert.deepEqual(actual, await expectedBackup(compilePatterns(flags)));
    assert.ok(actual.includes(`${root}/etc/nixos/configuration.nix`), '$ROOT in a flag is not expanded');
  });

  describe('restore --include', () => {
    let snapshotId = '';
    let nodes = new Map<string, NodeType>();
    let target = 0;

    before(async () => {
      snapshotId = await backup([]);
      nodes = await listSnapshot(snapshotId);
    });

    /** What restic's restorer writes: selected nodes plus the directories leading to them. */
    const expectedRestore = (matcher: Matcher): string[] => {
      const children = new Map<string, string[]>();
      for (const path of nodes.keys()) {
        const parent = dirname(path);
        children.set(parent, [...(children.get(parent) ?? []), path]);
      }
      const written = new Set<string>();
      const visit = (dir: string): void => {
        for (const path of children.get(dir) ?? []) {
          const { match, childMayMatch } = matcher.includeMatch(path);
          if (match) {
            for (let p = path; p !== '/'; p = dirname(p)) written.add(p);
          }
          if (nodes.get(path) === 'dir' && childMayMatch) visit(path);
        }
      };
      visit('/');
      return [...written].sort();
    };

    const restoredPaths = async (dir: string): Promise<string[]> => {
      const out: string[] = [];
      const walk = async (abs: string, rel: string): Promise<void> => {
        for (const name of await readdir(abs)) {
          out.push(`${rel}/${name}`);
          if ((await lstat(join(abs, name))).isDirectory()) await walk(join(abs, name), `${rel}/${name}`);
        }
      };
      await walk(dir, '');
      return out.sort();
    };

    const cases: readonly (readonly [string, (r: string) => string[]])[] = [
      ['an absolute directory', (r) => [`${r}/mnt/media`]],
      ['a relative glob and an absolute **', (r) => ['*.nix', `${r}/home/**/report.odt`]],
      ['a directory minus a negated glob', (r) => [`${r}/data`, '!*.txt', `${r}/data/logs/app.log.1`]],
      ['wildcards in absolute components', (r) => [`${r}/*/hot/*/incomplete`, 'caf?.txt', 'data/deep/**/index.js']],
      ['an empty directory by name', () => ['empty-dir']],
      ['a trailing slash on a file', (r) => [`${r}/data/env/sub-value/file/`]],
      ['nothing that exists', (r) => [`${r}/no/such/thing`]],
      ['negation of an ancestor', (r) => [`${r}/mnt`, `!${r}/mnt/hot`, `${r}/mnt/hot/surveillance/*`]],
    ];

    for (const [label, build] of cases) {
      it(`restores exactly what includeMatch selects: ${label}`, async () => {
        const includes = build(root);
        target += 1;
        const dir = join(base, `restore-${target}`);
        await mkdir(dir);
        await restic(['restore', snapshotId, '--target', dir, ...includes.flatMap((p) => ['--include', p])]);
        assert.deepEqual(await restoredPaths(dir), expectedRestore(compilePatterns(includes)));
      });
    }
  });
});
