#!/usr/bin/env -S node --max-semi-space-size=4
/**
 * lifeboat's command line. The only module that reads argv and the environment, prints, and
 * exits. Errors become one line (`lifeboat: <message> [CODE]` plus a hint) and an exit code
 * from exit-codes.ts; a stack trace is printed only with LIFEBOAT_DEBUG=1.
 *
 * The young generation is capped at 4 MiB semispaces (V8's default grows to 16 MiB): the main
 * thread's live heap is 10-30 MB, and the default let the heap reach twice that. bench: check
 * --read-data and restore peak about 30 MB lower at the same speed. bin/lifeboat passes the same flag.
 */
import { readFileSync } from 'node:fs';
import { LifeboatError } from '../core/errors.ts';
import { EXIT, exitCodeFor } from './exit-codes.ts';
// Command modules load on demand: a `repo` command should not pay for YAML, zod and SQLite.
const repoCommands = () => import('./repo-commands.ts');
const coverage = () => import('./coverage-commands.ts');
const operator = () => import('./operator-commands.ts');

const USAGE = `lifeboat: backups you can restore, in restic's repository format

Usage (coverage map; every command takes --config F, else LIFEBOAT_CONFIG, else /etc/lifeboat/lifeboat.yaml):
  lifeboat init                          print a starter config for this machine
  lifeboat config check [--json]         every problem at once, with file:line
  lifeboat config schema                 JSON Schema for editors
  lifeboat drive enroll DEST [--replace [--yes]]
                                         prepare a destination once (repository or mirror + marker);
                                         --replace: a new drive/repository in place of the enrolled one
  lifeboat run [--source S] [--destination D] [--due] [--dry-run] [--wait SECONDS] [--json]
  lifeboat status [--json]               the coverage map: what is protected where, how fresh
                                         (exit 1 when a cell is STALE, FAILED, NEVER or MISSING)
  lifeboat usb [--due] [--no-run] [--json]
                                         attached enrolled drives: mount, back up every cell, unmount;
                                         --due (for the automatic trigger): only cells that are due
  lifeboat restore --source S [--destination D] [--snapshot latest|DATE|ID] [--path P]...
                   (--target DIR | --in-place [--yes]) [--dry-run]
  lifeboat drill   [--source S] [--destination D] [--full]   restore tests; a pass tags the snapshot verified
  lifeboat check   [--destination D] [--read-data]           what is damaged, what it affects, what to do
  lifeboat forget  [--destination D] [--prune] [--dry-run]   retention from the config; keeps the newest
                                                            verified snapshot of every source
  lifeboat snapshots [--source S] [--destination D] [--json] per destination: the snapshots a restore can pick

Usage (one repository):
  lifeboat demo           [--dir DIR]   (a sample server backed up, restored and checked)
  lifeboat repo init      --repo DIR
  lifeboat repo backup    --repo DIR [--tag T] [--host H] [--exclude PAT] [--exclude-file F] [--force] [--no-cache | --cache-dir D] PATH...
  lifeboat repo backup    --repo DIR --stdin --stdin-filename NAME
  lifeboat repo snapshots --repo DIR [--json]
  lifeboat repo ls        --repo DIR SNAPSHOT [PATH]
  lifeboat repo restore   --repo DIR SNAPSHOT[:SUBPATH] --target DIR [--include PAT] [--verify]
  lifeboat repo check     --repo DIR [--read-data | --read-data-subset N/M]
  lifeboat repo cat       --repo DIR config|key|index|snapshot|pack|blob [ID]

Every command: --help (-h) for its usage; lifeboat --version.
Common options: --password-file F (or LIFEBOAT_PASSWORD_FILE / LIFEBOAT_PASSWORD; RESTIC_* also
honoured), --json for machine-readable output. RESTIC_REPOSITORY is honoured for --repo.
Exit codes: 0 ok, 1 error, 2 usage, 3 some files could not be read, 10 no repository,
11 locked, 12 wrong password, 13 destination unavailable, 130 interrupted. A run whose failed
cells share one error code exits with that code's number (mixed codes: 1); a run that backed
up nothing because every due cell's drive was absent exits 13.
`;

const COMMANDS = ['init', 'config', 'drive', 'run', 'status', 'usb', 'restore', 'snapshots', 'drill', 'check', 'forget', 'demo', 'repo', 'help'];

/**
 * `lifeboat CMD [SUB] --help`: the USAGE lines of that command (of CMD SUB when there is such a
 * subcommand), then the common options and exit codes. One text, so the two never disagree.
 */
function commandUsage(group: string, sub: string | undefined): string {
  const lines = USAGE.split('\n');
  const pick = (prefix: string): string[] => {
    const picked: string[] = [];
    let inside = false;
    for (const l of lines) {
      if (/^ {2}lifeboat /.test(l)) inside = l.startsWith(`  ${prefix} `) || l === `  ${prefix}`;
      else if (!/^ {3,}\S/.test(l)) inside = false; // an indented continuation belongs to the line above
      if (inside) picked.push(l);
    }
    return picked;
  };
  const ofSub = sub !== undefined && !sub.startsWith('-') ? pick(`lifeboat ${group} ${sub}`) : [];
  const own = ofSub.length > 0 ? ofSub : pick(`lifeboat ${group}`);
  const tail = lines.slice(lines.findIndex((l) => l.startsWith('Every command:')));
  return ['Usage:', ...own, '', ...tail].join('\n');
}

/** The version in package.json (one directory above src/cli/ from the sources, above dist/ in the bundle). */
function version(): string {
  for (const rel of ['../../package.json', '../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'lifeboat' && pkg.version) return pkg.version;
    } catch {
      /* try the next place */
    }
  }
  return 'unknown';
}

/** --help or -h before a `--` (after it, a path may be called -h). */
function wantsHelp(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).some((a) => a === '--help' || a === '-h');
}

export async function main(argv: string[]): Promise<number> {
  const [group, ...rest] = argv;
  if (!group || group === '--help' || group === '-h' || group === 'help') {
    process.stdout.write(USAGE);
    return group ? EXIT.OK : EXIT.USAGE;
  }
  if (group === '--version' || group === '-V') {
    process.stdout.write(`lifeboat ${version()}\n`);
    return EXIT.OK;
  }
  if (COMMANDS.includes(group) && wantsHelp(rest)) {
    process.stdout.write(commandUsage(group, rest[0]) + '\n');
    return EXIT.OK;
  }
  const env = process.env;
  // Loaded only when set: the workers module brings the seal rings, zstd and the chunker, which
  // a command that needs none of them should not pay for at start-up.
  if (env.LIFEBOAT_WORKERS !== undefined && env.LIFEBOAT_WORKERS !== '') {
    const workers = await import('../core/workers/index.ts');
    workers.setDefaultWorkers(workers.parseWorkerCount(env.LIFEBOAT_WORKERS));
  }
  switch (group) {
    case 'repo':
      return (await repoCommands()).runRepoCommand(rest, env);
    case 'config':
      return (await coverage()).runConfigCommand(rest, env);
    case 'init':
      return (await coverage()).runInit(rest);
    case 'run':
      return (await coverage()).runRun(rest, env);
    case 'status':
      return (await coverage()).runStatus(rest, env);
    case 'drive':
      return (await coverage()).runDrive(rest, env);
    case 'usb':
      return (await coverage()).runUsb(rest, env);
    case 'restore':
      return (await operator()).runRestoreCommand(rest, env);
    case 'drill':
      return (await operator()).runDrillCommand(rest, env);
    case 'check':
      return (await operator()).runCheckCommand(rest, env);
    case 'forget':
      return (await operator()).runForgetCommand(rest, env);
    case 'snapshots':
      return (await import('./snapshots-command.ts')).runSnapshotsCommand(rest, env);
    case 'demo':
      return (await import('./demo.ts')).runDemo(rest, (s) => process.stdout.write(s + '\n'));
  }
  // The config module (YAML, zod) loads only on this error path, not for every command.
  const near = (await import('../config/index.ts')).closest(group, COMMANDS);
  throw new LifeboatError('USAGE', `Unknown command ${JSON.stringify(group)}${near ? `: did you mean ${near}?` : ''}`, { hint: 'run `lifeboat --help`' });
}

function fail(e: unknown): number {
  if (e instanceof LifeboatError) {
    process.stderr.write(`lifeboat: ${e.message} [${e.code}]\n`);
    if (e.hint) process.stderr.write(`  hint: ${e.hint}\n`);
    if (process.env.LIFEBOAT_DEBUG) process.stderr.write(`${e.stack}\n`);
    return exitCodeFor(e.code);
  }
  if ((e as Error | undefined)?.name === 'AbortError') {
    process.stderr.write('lifeboat: interrupted [INTERRUPTED]\n');
    return EXIT.INTERRUPTED;
  }
  process.stderr.write(`lifeboat: internal error: ${(e as Error)?.message ?? String(e)} [INTERNAL]\n`);
  if (process.env.LIFEBOAT_DEBUG) process.stderr.write(`${(e as Error)?.stack}\n`);
  return EXIT.ERROR;
}

/**
 * Output to a closed pipe (`lifeboat run | head -1`) is dropped, as restic does: a backup in
 * progress must not die of EPIPE, and the run still finishes and is recorded. Node ignores
 * SIGPIPE, so the closed pipe arrives as an 'error' event on the stream; once it has, further
 * writes go nowhere. Any other error on stdout/stderr is no reason to stop a backup either.
 */
function dropOutputToClosedPipes(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', () => {
      stream.write = ((_chunk: unknown, enc?: unknown, cb?: unknown) => {
        const done = typeof enc === 'function' ? enc : cb;
        if (typeof done === 'function') (done as () => void)();
        return true;
      }) as typeof stream.write;
    });
  }
}

dropOutputToClosedPipes();
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.exitCode = fail(e);
  },
);
