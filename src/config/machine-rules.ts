/**
 * Findings that depend on this machine rather than on the file alone, judged from the facts the
 * loader looked up (path-facts.ts): what would otherwise first show at run time.
 *
 * - SOURCE_PATH_MISSING: a source path does not exist, so every run of the source fails. Level
 *   error for critical and high sources (their copies are the ones that must not silently stop),
 *   warn for medium and low (a path that appears later, say a share mounted by hand).
 * - PASSWORD_FILE_UNREADABLE (error): a password_file that does not exist, is not a file, is
 *   empty or cannot be read: nothing can be backed up to or restored from that destination.
 * - LIVE_DATABASE_FILES (warn): a source copies PostgreSQL's data files (a path under
 *   /var/lib/postgresql or /var/lib/pgsql, a directory holding PG_VERSION, or a path that
 *   includes one of those roots and does not exclude it). A file copy of a running server is
 *   not a consistent backup; a pg_dumpall command source is, and drills load it.
 */
import { posix } from 'node:path';
import type { Config, PathsSource } from './config.ts';
import { isInside } from './normalise.ts';
import { POSTGRES_DATA_ROOTS, type PathFacts } from './path-facts.ts';
import { excluder, type PolicyWarning } from './rules.ts';

type Warn = (w: Omit<PolicyWarning, 'location'>) => void;

const DUMP_SOURCE = 'command: [runuser, -u, postgres, --, pg_dumpall, --clean] with filename: postgres.sql';

export function machineWarnings(config: Config, facts: PathFacts): PolicyWarning[] {
  const out: PolicyWarning[] = [];
  const warn: Warn = (w) => void out.push({ ...w, location: undefined });
  for (const source of config.sources) {
    if (source.kind !== 'paths') continue;
    source.paths.forEach((p, i) => {
      const path = `sources.${source.name}.paths.${i}`;
      if (facts.get(p) === null) {
        const high = source.priority === 'critical' || source.priority === 'high';
        warn({
          code: 'SOURCE_PATH_MISSING',
          level: high ? 'error' : 'warn',
          message: `${p} of ${source.priority} source "${source.name}" does not exist, so every run of it fails`,
          hint: 'fix the path, or create or mount it before the next run',
          sources: [source.name],
          destinations: [],
          path,
        });
        return;
      }
      const live = postgresData(p, source, facts);
      if (live === undefined) return;
      warn({
        code: 'LIVE_DATABASE_FILES',
        level: 'warn',
        message: `${live.why}: a copy of a running server's data files is not a consistent backup`,
        hint: `back up a dump instead, a source with ${DUMP_SOURCE} (drills load it into a throwaway server)${live.exclude ? `, and add ${live.exclude} to the exclude list of "${source.name}"` : ''}`,
        sources: [source.name],
        destinations: [],
        path,
      });
    });
  }
  for (const d of config.destinations) {
    if (d.format !== 'repository' || d.password.kind !== 'file') continue;
    const file = d.password.path;
    const st = facts.get(file);
    if (st === undefined) continue;
    const why = st === null ? 'does not exist' : st.kind !== 'file' ? `is not a file (a ${st.kind})` : st.size === 0 ? 'is empty' : !st.readable ? 'cannot be read by this user' : undefined;
    if (why === undefined) continue;
    warn({
      code: 'PASSWORD_FILE_UNREADABLE',
      level: 'error',
      message: `password file ${file} of destination "${d.name}" ${why}, so nothing can be backed up to it or restored from it`,
      hint: st === null ? 'put the repository password in it (one line, mode 0600), or point password_file at the file that holds it' : 'make it a readable file holding the repository password, one line',
      sources: config.sources.filter((s) => s.destinations.includes(d.name)).map((s) => s.name),
      destinations: [d.name],
      path: `destinations.${d.name}.password_file`,
    });
  }
  return out;
}

/** Why `p` copies PostgreSQL data files, and the root to exclude when it only includes them. */
function postgresData(p: string, source: PathsSource, facts: PathFacts): { why: string; exclude?: string } | undefined {
  const inside = POSTGRES_DATA_ROOTS.find((root) => isInside(p, root));
  if (inside !== undefined) return { why: `${p} holds PostgreSQL's data files (${inside})` };
  if (facts.get(posix.join(p, 'PG_VERSION'))?.kind === 'file') return { why: `${p} is a PostgreSQL data directory (it has a PG_VERSION file)` };
  const excluded = excluder(source);
  const included = POSTGRES_DATA_ROOTS.find((root) => isInside(root, p) && facts.get(root)?.kind === 'directory' && !excluded(root));
  return included === undefined ? undefined : { why: `${p} includes ${included}, PostgreSQL's data files`, exclude: included };
}
