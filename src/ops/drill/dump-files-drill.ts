/**
 * PostgreSQL dumps kept as files in a paths source (`/srv/db-backups/*.sql`, `*.dump`): each is
 * restored from the snapshot (every blob verified) and loaded into a throwaway server, as a
 * command source's dump is (postgres-drill.ts). Their bytes restoring is not enough: a dump
 * that does not load is no backup of the database.
 *
 * Which files: those named `*.sql`, `*.dump`, `*.pgdump` or `*.backup`; the format is told by
 * content (dump-format.ts: `PGDMP` -> pg_restore, else `*.sql` or pg_dump's header -> psql;
 * anything else is not a dump and is left alone). How many: each load starts a fresh server
 * (about a second), so a drill loads at most MAX_FILES dumps and MAX_BYTES (the first always),
 * starting at the same share of the dump list as this drill's file slice starts in the file
 * list, so the rounds of drills spread over all of them; `--full` loads every one.
 */
import * as path from 'node:path';
import { dumpFormat } from './dump-format.ts';
import { postgresDrill } from './postgres-drill.ts';
import { withRestored, type DrillFinding } from './snapshot-files.ts';

export const MAX_FILES = 3;
export const MAX_BYTES = 512 * 1024 * 1024;

export interface DumpFile {
  readonly path: string;
  readonly node: { readonly size: bigint };
}

export function isDumpName(p: string): boolean {
  return /\.(sql|dump|pgdump|backup)$/i.test(p);
}

/**
 * This drill's dumps among `candidates` (sorted by path): from the share `position` (0..1) of
 * the list on, wrapping, at most `maxFiles` and `maxBytes` (the first one always).
 */
export function pickDumpFiles<F extends DumpFile>(candidates: readonly F[], opts: { readonly position: number; readonly full: boolean; readonly maxFiles?: number; readonly maxBytes?: number }): F[] {
  if (opts.full) return [...candidates];
  const from = Math.min(candidates.length - 1, Math.max(0, Math.floor(opts.position * candidates.length)));
  const ordered = [...candidates.slice(from), ...candidates.slice(0, from)];
  const out: F[] = [];
  let bytes = 0;
  for (const f of ordered) {
    const size = Number(f.node.size);
    if (out.length >= (opts.maxFiles ?? MAX_FILES) || (out.length > 0 && bytes + size > (opts.maxBytes ?? MAX_BYTES))) break;
    out.push(f);
    bytes += size;
  }
  return out;
}

export interface DumpFilesDrillInput<F extends DumpFile> {
  /** The snapshot's files, sorted by path. */
  readonly files: readonly F[];
  /** Where this drill's file slice starts, as a share of `files` (0..1). */
  readonly position: number;
  readonly full: boolean;
  /** A private directory for restored dumps. */
  readonly scratch: string;
  /** Paths already reported damaged by this drill: not loaded, not reported twice. */
  readonly skip: ReadonlySet<string>;
  /** Restores one file to `dest`, verifying every blob; throws when it cannot. */
  readonly restore: (entry: F, dest: string) => Promise<unknown>;
}

/** summary is undefined when the source holds no dump-named file: nothing to say. */
export async function dumpFilesDrill<F extends DumpFile>(input: DumpFilesDrillInput<F>): Promise<{ summary: string | undefined; findings: DrillFinding[] }> {
  const candidates = input.files.filter((f) => isDumpName(f.path));
  if (candidates.length === 0) return { summary: undefined, findings: [] };
  const chosen = pickDumpFiles(candidates, { position: input.position, full: input.full });
  const loaded: string[] = [];
  const failed: string[] = [];
  const findings: DrillFinding[] = [];
  let i = 0;
  for (const f of chosen) {
    if (input.skip.has(f.path)) continue;
    await withRestored(f, path.join(input.scratch, `dump-${i++}`), { restore: input.restore, findings }, async (dest) => {
      const format = await dumpFormat(dest, f.path);
      if (format === undefined) return; // a *.dump or *.backup that is no PostgreSQL dump
      const pg = await postgresDrill(dest, { format });
      if (pg.ok) loaded.push(`${f.path} (${format}, ${pg.tables ?? 0} table${pg.tables === 1 ? '' : 's'})`);
      else {
        failed.push(f.path);
        findings.push({ path: f.path, problem: `PostgreSQL drill failed: ${pg.summary}` });
      }
    });
  }
  const parts = [`${loaded.length} dump file${loaded.length === 1 ? '' : 's'} loaded into a throwaway PostgreSQL${loaded.length > 0 ? `: ${loaded.join(', ')}` : ''}`];
  if (failed.length > 0) parts.push(`${failed.length} did not load (${failed.join(', ')})`);
  const waiting = candidates.length - chosen.length;
  if (waiting > 0) parts.push(`${waiting} more wait${waiting === 1 ? 's' : ''} for later drills (at most ${MAX_FILES} files and ${MAX_BYTES / 1024 / 1024} MiB per drill, rotating)`);
  return { summary: parts.join('; '), findings };
}
