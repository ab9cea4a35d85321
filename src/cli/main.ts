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
  lifeboat run [--source S] [--destination D] [--due] [--json]
  lifeboat status [--json]               the coverage map: what is protected where, how fresh
                                         (exit 1 when a cell is STALE, FAILED, NEVER or MISSING)
  lifeboat usb [--due]                   attached enrolled drives: mount, back up every cell, unmount;
                                         --due (for the automatic trigger): only cells that are due
  lifeboat restore --source S [--destination D] [--snapshot latest|DATE|ID] [--path P]...
                   (--target DIR | --in-place [--yes]) [--dry-run]
  lifeboat drill   [--source S] [--destination D] [--full]   restore tests; a pass tags the snapshot verified
  lifeboat check   [--destination D] [--read-data]           what is damaged, what it affects, what to do
  lifeboat forget  [--destination D] [--prune] [--dry-run]   retention from the config; keeps the newest
                                                            verified snapshot of every source

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

Common options: --password-file F (or LIFEBOAT_PASSWORD_FILE / LIFEBOAT_PASSWORD; RESTIC_* also
honoured), --json for machine-readable output. RESTIC_REPOSITORY is honoured for --repo.
Exit codes: 0 ok, 1 error, 2 usage, 3 some files could not be read, 10 no repository,
11 locked, 12 wrong password, 13 destination unavailable, 130 interrupted.
`;

export async function main(argv: string[]): Promise<number> {
  const [group, ...rest] = argv;
  if (!group || group === '--help' || group === '-h' || group === 'help') {
    process.stdout.write(USAGE);
    return group ? EXIT.OK : EXIT.USAGE;
  }
  const env = process.env;
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
    case 'demo':
      return (await import('./demo.ts')).runDemo(rest, (s) => process.stdout.write(s + '\n'));
  }
  throw new LifeboatError('USAGE', `Unknown command ${JSON.stringify(group)}`, { hint: 'run `lifeboat --help`' });
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

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.exitCode = fail(e);
  },
);
