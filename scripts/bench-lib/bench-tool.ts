/**
 * The two tools under test, as data: which binary, which environment, and the argv of each
 * operation. Options are chosen to mean the same for both: a version 2 repository with default
 * (auto) compression and pack size, automatic parent selection by host and paths, JSON backup
 * summaries (both then pre-scan the source for totals, as restic 0.14 always does), restore of
 * `latest` without verification, and check --read-data with each tool's default cache use.
 */
import * as path from 'node:path';

export type ToolName = 'lifeboat' | 'restic';

export interface BenchTool {
  readonly name: ToolName;
  /** Environment of every command: password, cache location, nothing inherited by accident. */
  readonly env: NodeJS.ProcessEnv;
  init(repo: string): [string, ...string[]];
  backup(repo: string, source: string): [string, ...string[]];
  restore(repo: string, target: string): [string, ...string[]];
  check(repo: string): [string, ...string[]];
  /** Opening the repository (key derivation) and little else: the fixed cost of every command. */
  open(repo: string): [string, ...string[]];
  /** Version line for the record. */
  version(): [string, ...string[]];
}

const PASSWORD = 'lifeboat-bench';

function baseEnv(): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin', HOME: process.env.HOME ?? '/root', LANG: 'C.UTF-8', TZ: 'UTC' };
}

/**
 * lifeboat as a user runs it from a checkout: bin/lifeboat (node + tsx, one process), with its
 * cache (the tree memo) where a real user's would persist between commands, as restic's is.
 */
export function lifeboatTool(bin: string, cacheDir: string): BenchTool {
  return {
    name: 'lifeboat',
    env: { ...baseEnv(), LIFEBOAT_PASSWORD: PASSWORD, LIFEBOAT_CACHE_DIR: cacheDir },
    init: (repo) => [bin, 'repo', 'init', '--repo', repo],
    backup: (repo, source) => [bin, 'repo', 'backup', '--repo', repo, '--json', source],
    restore: (repo, target) => [bin, 'repo', 'restore', '--repo', repo, 'latest', '--target', target],
    check: (repo) => [bin, 'repo', 'check', '--repo', repo, '--read-data'],
    open: (repo) => [bin, 'repo', 'cat', '--repo', repo, 'config'],
    version: () => ['git', '-C', path.dirname(path.dirname(bin)), 'describe', '--always', '--dirty'],
  };
}

/** restic with its cache where a real user's would persist between commands (RESTIC_CACHE_DIR). */
export function resticTool(bin: string, cacheDir: string): BenchTool {
  return {
    name: 'restic',
    env: { ...baseEnv(), RESTIC_PASSWORD: PASSWORD, RESTIC_CACHE_DIR: cacheDir },
    init: (repo) => [bin, 'init', '--repo', repo, '--repository-version', '2'],
    backup: (repo, source) => [bin, 'backup', '--repo', repo, '--json', source],
    restore: (repo, target) => [bin, 'restore', '--repo', repo, 'latest', '--target', target],
    check: (repo) => [bin, 'check', '--repo', repo, '--read-data'],
    open: (repo) => [bin, 'cat', '--repo', repo, 'config'],
    version: () => [bin, 'version'],
  };
}
