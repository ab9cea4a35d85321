/**
 * The state store: run history, drive sightings and drill results in one SQLite file
 * (`<state_dir>/state.db`, WAL mode). `status` falls back on it when a drive is unplugged, so
 * every run outcome is written here, including "destination absent" (neither failure nor
 * success). The file is created 0600 in a 0700 directory: it names paths and snapshot ids.
 */
import Database from 'better-sqlite3';
import { chmodSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { LifeboatError } from '../../core/errors.ts';

/** `interrupted`: stopped by a signal, neither a failure nor a copy. */
export type RunOutcome = 'success' | 'partial' | 'failed' | 'absent' | 'interrupted';

export interface RunRecord {
  readonly source: string;
  readonly destination: string;
  readonly startedAt: number;
  readonly finishedAt: number;
  readonly outcome: RunOutcome;
  readonly bytes: number;
  readonly files: number;
  readonly snapshot?: string | undefined;
  readonly error?: string | undefined;
  /** The error code (NO_SPACE, WRONG_PASSWORD, ...) of a run that did not succeed. */
  readonly code?: string | undefined;
  /** The repository the run wrote to (its config id); none for mirrors and runs that never opened one. */
  readonly repositoryId?: string | undefined;
}

export interface DriveSighting {
  readonly destination: string;
  readonly lastSeen: number;
  readonly label?: string | undefined;
  readonly uuid?: string | undefined;
}

export interface DrillRecord {
  readonly source: string;
  readonly destination: string;
  readonly snapshot: string;
  readonly at: number;
  readonly ok: boolean;
  readonly filesChecked: number;
  readonly bytesChecked: number;
  readonly coverage: number;
  readonly details?: string | undefined;
}

/**
 * What `drive enroll` made a destination: the drive and repository lifeboat trusts there. Kept
 * here as well as in the drive's marker, because the marker travels with the drive: with an
 * impostor plugged in, only this record still knows which drive and repository were enrolled.
 */
export interface Enrolment {
  readonly destination: string;
  readonly label?: string | undefined;
  readonly uuid?: string | undefined;
  readonly repositoryId?: string | undefined;
  /** When this drive/repository became the destination's (ms); history before it is another's. */
  readonly enrolledAt: number;
}

/** Which history belongs to the enrolled repository: its own runs, and id-less ones since enrolment. */
export interface HistoryScope {
  readonly repositoryId?: string | undefined;
  readonly since: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  source TEXT NOT NULL, destination TEXT NOT NULL,
  started_at INTEGER NOT NULL, finished_at INTEGER NOT NULL,
  outcome TEXT NOT NULL, bytes INTEGER NOT NULL, files INTEGER NOT NULL,
  snapshot TEXT, error TEXT);
CREATE INDEX IF NOT EXISTS runs_cell ON runs(source, destination, finished_at);
CREATE TABLE IF NOT EXISTS drives (
  destination TEXT PRIMARY KEY, last_seen INTEGER NOT NULL, label TEXT, uuid TEXT);
CREATE TABLE IF NOT EXISTS drills (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  source TEXT NOT NULL, destination TEXT NOT NULL, snapshot TEXT NOT NULL, at INTEGER NOT NULL,
  ok INTEGER NOT NULL, files_checked INTEGER NOT NULL, bytes_checked INTEGER NOT NULL,
  coverage REAL NOT NULL, details TEXT);
CREATE TABLE IF NOT EXISTS drill_progress (
  source TEXT NOT NULL, destination TEXT NOT NULL, cursor TEXT NOT NULL, round INTEGER NOT NULL,
  PRIMARY KEY (source, destination));
`;

interface RunRow {
  source: string;
  destination: string;
  started_at: number;
  finished_at: number;
  outcome: RunOutcome;
  bytes: number;
  files: number;
  snapshot: string | null;
  error: string | null;
  code: string | null;
  repository_id: string | null;
}

function toRun(r: RunRow): RunRecord {
  return {
    source: r.source,
    destination: r.destination,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    outcome: r.outcome,
    bytes: r.bytes,
    files: r.files,
    snapshot: r.snapshot ?? undefined,
    error: r.error ?? undefined,
    code: r.code ?? undefined,
    repositoryId: r.repository_id ?? undefined,
  };
}

/**
 * The additions for enrolments and per-repository history, on top of SCHEMA: a new table, and a
 * column added only when missing, so a state.db written by an older lifeboat opens as it is
 * (its runs have no repository id; HistoryScope counts them by time).
 */
/**
 * What later releases added to state.db, applied to files made before them: additive only (a new
 * table, new nullable columns), so an older lifeboat still reads the file.
 */
function migrate(db: Database.Database): void {
  db.exec(`CREATE TABLE IF NOT EXISTS enrolments (
    destination TEXT PRIMARY KEY, label TEXT, uuid TEXT, repository_id TEXT, enrolled_at INTEGER NOT NULL)`);
  const cols = new Set((db.prepare('PRAGMA table_info(runs)').all() as { name: string }[]).map((c) => c.name));
  // The error code of a run that did not succeed; the repository (config id) it wrote to.
  if (!cols.has('code')) db.exec('ALTER TABLE runs ADD COLUMN code TEXT');
  if (!cols.has('repository_id')) db.exec('ALTER TABLE runs ADD COLUMN repository_id TEXT');
}

/** SQL condition (and its parameters) selecting the rows of a scope; `t` is the time column. */
function scopeWhere(scope: HistoryScope | undefined, t: string, withRepo: boolean): { sql: string; args: (string | number | null)[] } {
  if (scope === undefined) return { sql: '', args: [] };
  if (!withRepo) return { sql: ` AND ${t} >= ?`, args: [scope.since] };
  return { sql: ` AND ${t} >= ? AND (repository_id IS NULL OR repository_id IS ?)`, args: [scope.since, scope.repositoryId ?? null] };
}

export class StateStore {
  private readonly db: Database.Database;

  private constructor(db: Database.Database) {
    this.db = db;
  }

  static open(stateDir: string): StateStore {
    const file = path.join(stateDir, 'state.db');
    let db: Database.Database;
    try {
      mkdirSync(stateDir, { recursive: true, mode: 0o700 });
      db = new Database(file);
      chmodSync(file, 0o600);
    } catch (e) {
      throw new LifeboatError('IO', `Cannot open the state store ${file}: ${(e as Error).message}`, { cause: e, hint: 'set state_dir in the config (or LIFEBOAT_STATE_DIR) to a writable directory' });
    }
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('busy_timeout = 10000');
    db.exec(SCHEMA);
    migrate(db);
    return new StateStore(db);
  }

  recordRun(r: RunRecord): void {
    this.db
      .prepare('INSERT INTO runs (source, destination, started_at, finished_at, outcome, bytes, files, snapshot, error, code, repository_id) VALUES (?,?,?,?,?,?,?,?,?,?,?)')
      .run(r.source, r.destination, r.startedAt, r.finishedAt, r.outcome, r.bytes, r.files, r.snapshot ?? null, r.error ?? null, r.code ?? null, r.repositoryId ?? null);
  }

  lastRun(source: string, destination: string): RunRecord | undefined {
    const r = this.db.prepare('SELECT * FROM runs WHERE source=? AND destination=? ORDER BY finished_at DESC, id DESC LIMIT 1').get(source, destination) as RunRow | undefined;
    return r ? toRun(r) : undefined;
  }

  lastSuccess(source: string, destination: string): RunRecord | undefined {
    const r = this.db
      .prepare("SELECT * FROM runs WHERE source=? AND destination=? AND outcome IN ('success','partial') ORDER BY finished_at DESC, id DESC LIMIT 1")
      .get(source, destination) as RunRow | undefined;
    return r ? toRun(r) : undefined;
  }

  runs(opts: { source?: string; destination?: string; limit?: number } = {}): RunRecord[] {
    const rows = this.db
      .prepare('SELECT * FROM runs WHERE (? IS NULL OR source=?) AND (? IS NULL OR destination=?) ORDER BY finished_at DESC, id DESC LIMIT ?')
      .all(opts.source ?? null, opts.source ?? null, opts.destination ?? null, opts.destination ?? null, opts.limit ?? 100) as RunRow[];
    return rows.map(toRun);
  }

  markSeen(s: DriveSighting): void {
    this.db
      .prepare('INSERT INTO drives (destination, last_seen, label, uuid) VALUES (?,?,?,?) ON CONFLICT(destination) DO UPDATE SET last_seen=excluded.last_seen, label=excluded.label, uuid=excluded.uuid')
      .run(s.destination, s.lastSeen, s.label ?? null, s.uuid ?? null);
  }

  lastSeen(destination: string): DriveSighting | undefined {
    const r = this.db.prepare('SELECT * FROM drives WHERE destination=?').get(destination) as { destination: string; last_seen: number; label: string | null; uuid: string | null } | undefined;
    return r ? { destination: r.destination, lastSeen: r.last_seen, label: r.label ?? undefined, uuid: r.uuid ?? undefined } : undefined;
  }

  recordDrill(d: DrillRecord): void {
    this.db
      .prepare('INSERT INTO drills (source, destination, snapshot, at, ok, files_checked, bytes_checked, coverage, details) VALUES (?,?,?,?,?,?,?,?,?)')
      .run(d.source, d.destination, d.snapshot, d.at, d.ok ? 1 : 0, d.filesChecked, d.bytesChecked, d.coverage, d.details ?? null);
  }

  lastDrill(source: string, destination: string): DrillRecord | undefined {
    const r = this.db.prepare('SELECT * FROM drills WHERE source=? AND destination=? ORDER BY at DESC, id DESC LIMIT 1').get(source, destination) as
      | { source: string; destination: string; snapshot: string; at: number; ok: number; files_checked: number; bytes_checked: number; coverage: number; details: string | null }
      | undefined;
    return r
      ? { source: r.source, destination: r.destination, snapshot: r.snapshot, at: r.at, ok: r.ok === 1, filesChecked: r.files_checked, bytesChecked: r.bytes_checked, coverage: r.coverage, details: r.details ?? undefined }
      : undefined;
  }

  drillCursor(source: string, destination: string): { cursor: string; round: number } | undefined {
    return this.db.prepare('SELECT cursor, round FROM drill_progress WHERE source=? AND destination=?').get(source, destination) as { cursor: string; round: number } | undefined;
  }

  setDrillCursor(source: string, destination: string, cursor: string, round: number): void {
    this.db
      .prepare('INSERT INTO drill_progress (source, destination, cursor, round) VALUES (?,?,?,?) ON CONFLICT(source, destination) DO UPDATE SET cursor=excluded.cursor, round=excluded.round')
      .run(source, destination, cursor, round);
  }

  /** The destination's enrolled drive and repository, if `drive enroll` (or an adopted marker) recorded one. */
  enrolment(destination: string): Enrolment | undefined {
    const r = this.db.prepare('SELECT * FROM enrolments WHERE destination=?').get(destination) as
      | { destination: string; label: string | null; uuid: string | null; repository_id: string | null; enrolled_at: number }
      | undefined;
    return r ? { destination: r.destination, label: r.label ?? undefined, uuid: r.uuid ?? undefined, repositoryId: r.repository_id ?? undefined, enrolledAt: r.enrolled_at } : undefined;
  }

  /** Records (or replaces) the destination's enrolment. */
  recordEnrolment(e: Enrolment): void {
    this.db
      .prepare('INSERT INTO enrolments (destination, label, uuid, repository_id, enrolled_at) VALUES (?,?,?,?,?) ON CONFLICT(destination) DO UPDATE SET label=excluded.label, uuid=excluded.uuid, repository_id=excluded.repository_id, enrolled_at=excluded.enrolled_at')
      .run(e.destination, e.label ?? null, e.uuid ?? null, e.repositoryId ?? null, e.enrolledAt);
  }

  /** The cell's last run, last success and last drill within a scope (all history without one). */
  cellHistory(source: string, destination: string, scope?: HistoryScope): { lastRun?: RunRecord; lastSuccess?: RunRecord; lastDrill?: DrillRecord } {
    const runs = scopeWhere(scope, 'finished_at', true);
    const order = ' ORDER BY finished_at DESC, id DESC LIMIT 1';
    const run = this.db.prepare(`SELECT * FROM runs WHERE source=? AND destination=?${runs.sql}${order}`).get(source, destination, ...runs.args) as RunRow | undefined;
    const ok = this.db
      .prepare(`SELECT * FROM runs WHERE source=? AND destination=? AND outcome IN ('success','partial')${runs.sql}${order}`)
      .get(source, destination, ...runs.args) as RunRow | undefined;
    const drills = scopeWhere(scope, 'at', false);
    const drill = this.db.prepare(`SELECT id FROM drills WHERE source=? AND destination=?${drills.sql} ORDER BY at DESC, id DESC LIMIT 1`).get(source, destination, ...drills.args);
    // The scope is a lower time bound, so the newest drill is in it whenever any drill is.
    const lastDrill = drill !== undefined ? this.lastDrill(source, destination) : undefined;
    return { ...(run ? { lastRun: toRun(run) } : {}), ...(ok ? { lastSuccess: toRun(ok) } : {}), ...(lastDrill ? { lastDrill } : {}) };
  }

  close(): void {
    this.db.close();
  }
}
