/**
 * Plain-file mirrors, for drives a Windows or Mac machine must read. rsync -aAXH copies the
 * source into `<root>/current/<source>/`; every file it would replace or delete is moved into
 * `<root>/versions/<UTC stamp>/<source>/` first (rsync --backup-dir), so the last copy of
 * anything is never lost, only aged. rsync writes each file to a temp name and renames it.
 *
 * Excludes use restic's pattern syntax everywhere in lifeboat; rsync's differs, so the source is
 * walked with our matcher and the excluded paths are handed to rsync as anchored literals.
 */
import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { LifeboatError } from '../../core/errors.ts';

export interface ExcludeMatcher {
  excludes(path: string): boolean;
}

export interface MirrorResult {
  /** Regular files in the source (what a repository run calls files scanned). */
  readonly files: number;
  /** Regular files copied because they were new or changed. */
  readonly filesWritten: number;
  /** Bytes of the files copied. */
  readonly bytes: number;
  readonly versionsDir: string | undefined;
  readonly target: string;
}

export function mirrorPaths(root: string, source: string, stamp: string): { target: string; versions: string } {
  return { target: path.join(root, 'current', source), versions: path.join(root, 'versions', stamp, source) };
}

/** Where a source path's copy lives: /srv/share of source S -> <root>/current/S/share. */
export function mirrorCopyPath(root: string, source: string, sourcePath: string): string {
  return path.join(root, 'current', source, path.basename(sourcePath) || 'root');
}

export function versionStamp(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

/** Escapes rsync filter wildcards so a path is matched literally. */
function rsyncLiteral(p: string): string {
  return p.replace(/[\\*?[]/g, (c) => '\\' + c);
}

async function excludedPaths(src: string, m: ExcludeMatcher): Promise<string[]> {
  const out: string[] = [];
  const walk = async (abs: string, rel: string): Promise<void> => {
    let entries;
    try {
      entries = await fsp.readdir(abs, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const a = path.join(abs, e.name);
      const r = rel + '/' + e.name;
      if (m.excludes(a)) out.push(r);
      else if (e.isDirectory()) await walk(a, r);
    }
  };
  await walk(src, '');
  return out;
}

/** Filesystems whose mtimes keep nanoseconds (statfs f_type): ext4, xfs, btrfs, tmpfs. */
const NS_TIME_FS = new Set([0xef53, 0x58465342, 0x9123683e, 0x01021994]);

/**
 * rsync's quick check compares size and mtime in whole seconds by default, so a same-size edit
 * within one second would be skipped for good. Where the mirror keeps nanoseconds, compare them
 * exactly; FAT-family drives (2 s resolution) get a 1 s window instead.
 */
async function modifyWindow(root: string): Promise<string[]> {
  const ns = await keepsNanoseconds(root);
  return ns === undefined ? [] : ns ? ['--modify-window=-1'] : ['--modify-window=1'];
}

/** Whether the filesystem at `root` keeps nanosecond mtimes; undefined when it cannot be told. */
export async function keepsNanoseconds(root: string): Promise<boolean | undefined> {
  try {
    return NS_TIME_FS.has(Number((await fsp.statfs(root)).type));
  } catch {
    return undefined;
  }
}

export function runRsync(args: string[], signal?: AbortSignal): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('rsync', args, { stdio: ['ignore', 'pipe', 'pipe'], signal });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (e) => reject(new LifeboatError('IO', `Cannot run rsync: ${e.message}`, { cause: e, hint: 'install rsync' })));
    child.on('close', (code) => {
      if (code === 0 || code === 24) resolve({ stdout, stderr }); // 24: files vanished during transfer
      else if (/No space left/i.test(stderr)) reject(new LifeboatError('NO_SPACE', `Cannot write mirror: no space left on device`, { hint: 'free space on the drive; the previous copy and its versions are intact' }));
      else reject(new LifeboatError('IO', `rsync failed with exit code ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`));
    });
  });
}

/**
 * Mirrors `sources` (directories or files) into root/current/<name>/, keeping what changes in
 * root/versions/<stamp>/<name>/. The root must exist (the caller checked the destination).
 */
export async function mirrorSource(opts: {
  root: string;
  name: string;
  paths: readonly string[];
  exclude?: ExcludeMatcher | undefined;
  now?: Date;
  signal?: AbortSignal;
}): Promise<MirrorResult> {
  const stamp = versionStamp(opts.now ?? new Date());
  const { target, versions } = mirrorPaths(opts.root, opts.name, stamp);
  await fsp.mkdir(target, { recursive: true });
  let files = 0;
  let filesWritten = 0;
  let bytes = 0;
  for (const src of opts.paths) {
    const st = await fsp.stat(src);
    // Each source path keeps its own name under the mirror: /srv/share -> current/<name>/share/
    const dest = mirrorCopyPath(opts.root, opts.name, src);
    const args = ['-aAXH', '--delete', '--delay-updates', '--numeric-ids', '--stats', '--backup', `--backup-dir=${path.join(versions, path.basename(src) || 'root')}`, ...(await modifyWindow(opts.root))];
    let excludeFile: string | undefined;
    if (opts.exclude && st.isDirectory()) {
      const ex = await excludedPaths(src, opts.exclude);
      if (ex.length > 0) {
        excludeFile = path.join(opts.root, `.lifeboat-excludes-${process.pid}-${Date.now()}`);
        await fsp.writeFile(excludeFile, ex.map((p) => rsyncLiteral(p)).join('\n') + '\n', { mode: 0o600 });
        args.push(`--exclude-from=${excludeFile}`);
      }
    }
    args.push(st.isDirectory() ? src.replace(/\/?$/, '/') : src, st.isDirectory() ? dest + '/' : dest);
    try {
      const r = await runRsync(args, opts.signal);
      const stat = (re: RegExp): number => Number(re.exec(r.stdout)?.[1]?.replace(/,/g, '') ?? 0);
      // "Number of files: 7 (reg: 5, dir: 2)"; rsync leaves out "(reg: ...)" when every file is one.
      files += /Number of files: [\d,]+ \(/.test(r.stdout) ? stat(/Number of files: [\d,]+ \([^)]*reg: ([\d,]+)/) : stat(/Number of files: ([\d,]+)/);
      filesWritten += stat(/Number of regular files transferred: ([\d,]+)/);
      bytes += stat(/Total transferred file size: ([\d,]+)/);
    } finally {
      if (excludeFile) await fsp.rm(excludeFile, { force: true });
    }
  }
  let versionsDir: string | undefined = versions;
  try {
    await fsp.access(versions);
  } catch {
    versionsDir = undefined;
  }
  return { files, filesWritten, bytes, versionsDir, target };
}

/** Stores a command's output as one file in the mirror, keeping the previous one as a version. */
export async function mirrorStream(opts: { root: string; name: string; filename: string; stream: AsyncIterable<Uint8Array>; now?: Date }): Promise<MirrorResult> {
  const stamp = versionStamp(opts.now ?? new Date());
  const { target, versions } = mirrorPaths(opts.root, opts.name, stamp);
  await fsp.mkdir(target, { recursive: true });
  const final = path.join(target, opts.filename);
  const tmp = `${final}.lifeboat-tmp-${process.pid}`;
  const fh = await fsp.open(tmp, 'w', 0o600);
  let bytes = 0;
  try {
    for await (const chunk of opts.stream) {
      await fh.write(chunk);
      bytes += chunk.length;
    }
    await fh.sync();
  } catch (e) {
    await fh.close();
    await fsp.rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  let versionsDir: string | undefined;
  try {
    await fsp.access(final);
    await fsp.mkdir(versions, { recursive: true });
    await fsp.rename(final, path.join(versions, opts.filename));
    versionsDir = versions;
  } catch {
    /* first copy */
  }
  await fsp.rename(tmp, final);
  return { files: 1, filesWritten: 1, bytes, versionsDir, target };
}
