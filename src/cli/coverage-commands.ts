/**
 * The coverage-map commands: config check|schema, init, run, status, drive enroll, usb.
 * Every command takes --config F (else LIFEBOAT_CONFIG, else /etc/lifeboat/lifeboat.yaml).
 */
import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import { hostname as osHostname } from 'node:os';
import { LifeboatError } from '../core/errors.ts';
import { configJsonSchema, formatProblem, formatWarning, loadConfig, starterConfig, type Config } from '../config/index.ts';
import { configFileDeps, configPath, loadCoverageConfig } from './load-coverage-config.ts';
import { systemProbe, checkDestination, findAttachedDrives, mountDrive, releaseDrive } from '../ops/devices/index.ts';
import { StateStore } from '../ops/state/state-store.ts';
import { isDue, planRun, runCoverage, selectCells, unavailable, type RunSelection } from '../ops/jobs/run-coverage.ts';
import { cellRefusal } from '../ops/jobs/source-guards.ts';
import { enrolledLastSuccess, enrolledView } from '../ops/jobs/enrolled-view.ts';
import { coverageStatus, type StatusCell } from '../ops/jobs/coverage-status.ts';
import { enrollDestination } from '../ops/jobs/enroll.ts';
import { deviceView, type CellResult } from '../ops/jobs/cell-context.ts';
import { EXIT, combineExitCodes, runExitCode } from './exit-codes.ts';
import { Progress, fmtBytes, fmtDuration, plural } from './progress.ts';

type Env = NodeJS.ProcessEnv;

const OPTS = {
  config: { type: 'string', short: 'c' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
} as const;

function parse<T extends Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>>(args: string[], options: T) {
  try {
    return parseArgs({ args, options: { ...OPTS, ...options }, allowPositionals: true, strict: true });
  } catch (e) {
    throw new LifeboatError('USAGE', (e as Error).message, { hint: 'run `lifeboat --help`' });
  }
}

const out = (s: string): void => void process.stdout.write(s.endsWith('\n') ? s : s + '\n');

export async function runConfigCommand(argv: string[], env: Env): Promise<number> {
  const [sub, ...args] = argv;
  const { values } = parse(args, {});
  if (sub === 'schema') {
    out(JSON.stringify(configJsonSchema(), null, 2));
    return EXIT.OK;
  }
  if (sub !== 'check') throw new LifeboatError('USAGE', `Unknown config command ${JSON.stringify(sub ?? '')}`, { hint: 'use `lifeboat config check` or `lifeboat config schema`' });
  const file = configPath(values.config, env);
  const r = await loadConfig(file, configFileDeps(env));
  if (values.json) {
    out(JSON.stringify({ file, ok: r.problems.length === 0 && !r.warnings.some((w) => w.level === 'error'), problems: r.problems, warnings: r.warnings }));
  } else {
    for (const p of r.problems) out(formatProblem(p));
    for (const w of r.warnings) out(formatWarning(w));
    if (r.problems.length === 0) out(`${file}: ${r.config.sources.length} sources, ${r.config.destinations.length} destinations${r.warnings.length ? `, ${r.warnings.length} policy findings` : ', no findings'}`);
  }
  if (r.problems.length > 0) return EXIT.USAGE;
  return r.warnings.some((w) => w.level === 'error') ? EXIT.ERROR : EXIT.OK;
}

export async function runInit(args: string[]): Promise<number> {
  parse(args, {});
  out(starterConfig((p) => existsSync(p)));
  return EXIT.OK;
}

export async function runRun(args: string[], env: Env): Promise<number> {
  const { values } = parse(args, { source: { type: 'string' }, destination: { type: 'string' }, due: { type: 'boolean' }, wait: { type: 'string' }, 'dry-run': { type: 'boolean', short: 'n' } });
  const config = await loadCoverageConfig(values.config, env);
  const state = StateStore.open(config.state_dir);
  const sel = { source: values.source, destination: values.destination, due: values.due };
  if (values['dry-run']) {
    try {
      return await dryRun(config, sel, state, values.json === true);
    } finally {
      state.close();
    }
  }
  const ac = new AbortController();
  const onSig = (): void => ac.abort();
  process.once('SIGINT', onSig);
  process.once('SIGTERM', onSig);
  let progress: Progress | undefined;
  try {
    const results = await runCoverage(config, sel, {
      probe: systemProbe(),
      state,
      env: env as Record<string, string | undefined>,
      hostname: config.hostname ?? osHostname(),
      signal: ac.signal,
      lockWaitMs: values.wait ? Number(values.wait) * 1000 : 0,
      onEvent: (e) => {
        if (values.json) {
          if (e.type !== 'progress' || !progress) out(JSON.stringify(e.type === 'cell-done' ? cellJson(e.result) : e));
          if (e.type === 'progress') {
            progress ??= Progress.for(`${e.source} -> ${e.destination}`, true);
            progress.update(e);
          }
          return;
        }
        if (e.type === 'cell-start') progress = Progress.for(`${e.source} -> ${e.destination}`, false);
        else if (e.type === 'progress') progress?.update(e);
        else if (e.type === 'file-error') process.stderr.write(`\rerror: ${e.source}: ${e.path}: ${e.message}\n`);
        else if (e.type === 'cell-done') {
          progress?.done();
          progress = undefined;
          if (!values.quiet) out(describe(e.result));
        }
      },
    });
    const count = (o: CellResult['outcome']): number => results.filter((r) => r.outcome === o).length;
    // A signal before the first cell started leaves no interrupted cell, and is still an interrupt.
    const code = ac.signal.aborted ? EXIT.INTERRUPTED : runExitCode(results);
    if (values.json) out(JSON.stringify({ type: 'summary', cells: results.length, succeeded: count('success'), partial: count('partial'), failed: count('failed'), absent: count('absent'), interrupted: count('interrupted'), not_due: count('not-due') }));
    else if (!values.quiet && results.length === 0 && !ac.signal.aborted) out('nothing to do: no cell matches');
    else if (code === EXIT.UNAVAILABLE && count('failed') === 0) out(`nothing backed up: ${plural(count('absent'), 'due cell was', 'due cells were')} skipped, ${count('absent') === 1 ? 'its destination is' : 'their destinations are'} not here`);
    if (ac.signal.aborted) process.stderr.write('lifeboat: interrupted: the cell in progress is recorded as interrupted, no snapshot was written for it [INTERRUPTED]\n');
    return code;
  } finally {
    process.off('SIGINT', onSig);
    process.off('SIGTERM', onSig);
    state.close();
  }
}

/** A cell result as a `run --json` line. `bytes` is kept for old scripts (deprecated: it always was the bytes added). */
function cellJson(r: CellResult): Record<string, unknown> {
  return {
    type: 'cell',
    source: r.source,
    destination: r.destination,
    outcome: r.outcome,
    snapshot: r.snapshot,
    files: r.files,
    files_written: r.filesWritten,
    bytes_added: r.bytes,
    bytes: r.bytes,
    durationMs: r.durationMs,
    error: r.error,
    code: r.code,
    hint: r.hint,
  };
}

/** `run --dry-run`: the run's plan with the source guards, per cell; nothing is written or recorded. */
async function dryRun(config: Config, sel: RunSelection, state: StateStore, json: boolean): Promise<number> {
  const probe = systemProbe();
  for (const { destination, state: dest, due, notDue } of await planRun(config, sel, { probe, state }, Date.now())) {
    const where = dest.state === 'ready' ? `${destination.name} ready at ${dest.root}` : `${destination.name} ${dest.state}: ${dest.why}`;
    for (const s of [...due, ...notDue]) {
      const cell = `${s.name} -> ${destination.name}`;
      const isDue = due.includes(s);
      const last = enrolledLastSuccess(state, s.name, destination.name);
      let would: 'run' | 'skip' | 'fail' | 'not-due' = isDue ? 'run' : 'not-due';
      let why: string | undefined;
      if (isDue && dest.state !== 'ready') {
        const u = unavailable(destination, dest);
        would = u.outcome === 'absent' ? 'skip' : 'fail';
        why = u.message;
      } else if (isDue) {
        const refusal = await cellRefusal(s, destination, probe);
        if (refusal) [would, why] = ['fail', `${refusal.message} [${refusal.code}]`];
      }
      const dueText = isDue ? (sel.due ? 'due' : 'selected') : 'not due';
      const lastText = last ? `last success ${new Date(last.finishedAt).toISOString().slice(0, 16).replace('T', ' ')}` : 'no success yet';
      if (json) out(JSON.stringify({ type: 'plan', source: s.name, destination: destination.name, due: isDue, would, destination_state: dest.state, destination_why: dest.state === 'ready' ? null : dest.why, why: why ?? null, last_success: last ? new Date(last.finishedAt).toISOString() : null }));
      else out(`${({ run: 'would run ', skip: 'would skip', fail: 'would fail', 'not-due': '-         ' } as const)[would]} ${cell}: ${dueText} (${lastText}); ${why ?? (isDue ? `${where}, source guards pass` : where)}`);
    }
  }
  if (!json) out('dry run: nothing was written and nothing recorded');
  return EXIT.OK;
}

function describe(r: CellResult): string {
  const cell = `${r.source} -> ${r.destination}`;
  switch (r.outcome) {
    case 'success':
      return `OK      ${cell}: ${plural(r.files, 'file')}, ${r.filesWritten} written, ${fmtBytes(r.bytes)} added${r.snapshot ? `, snapshot ${r.snapshot.slice(0, 8)}` : ''} (${fmtDuration(r.durationMs / 1000)})`;
    case 'partial':
      return `PARTIAL ${cell}: ${r.error}`;
    case 'absent':
      return `ABSENT  ${cell}: ${r.error} (skipped)`;
    case 'interrupted':
      return `INTERRUPTED ${cell}: interrupted after ${fmtDuration(r.durationMs / 1000)}, no snapshot written`;
    case 'not-due':
      return `-       ${cell}: not due`;
    default:
      return `FAILED  ${cell}: ${r.error}${r.code ? ` [${r.code}]` : ''}${r.hint ? `\n        hint: ${r.hint}` : ''}`;
  }
}

export async function runStatus(args: string[], env: Env): Promise<number> {
  const { values } = parse(args, {});
  const config = await loadCoverageConfig(values.config, env);
  const state = StateStore.open(config.state_dir);
  try {
    const report = await coverageStatus(config, { probe: systemProbe(), state });
    if (values.json) {
      out(JSON.stringify(report));
    } else {
      const rows = report.cells.map((c) => [c.state, c.source, c.destination, c.priority, c.frequency, c.last_success ? `${c.last_success.slice(0, 16).replace('T', ' ')} (${ago(c.age_seconds)})` : '-', c.snapshots === null ? '-' : String(c.snapshots), c.bytes_added === null ? '-' : fmtBytes(c.bytes_added), c.last_drill ? `${c.last_drill_ok ? 'ok' : 'FAILED'} ${c.last_drill.slice(0, 10)}${c.drill_coverage !== null ? ` ${Math.round(c.drill_coverage * 100)}%` : ''}` : 'never', driveColumn(c)]);
      const head = ['STATE', 'SOURCE', 'DESTINATION', 'PRIORITY', 'FREQ', 'LAST GOOD', 'SNAPS', 'ADDED', 'DRILL', 'DRIVE'];
      const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
      const line = (r: string[]): string => r.map((c, i) => c.padEnd(w[i]!)).join('  ').trimEnd();
      out(line(head));
      for (const r of rows) out(line(r));
      // Why each destination that is here in some way cannot be used: the sentence, once per destination.
      const told = new Set<string>();
      for (const c of report.cells) {
        if (c.destination_why === null || c.destination_state === 'absent' || told.has(c.destination)) continue;
        told.add(c.destination);
        out(`${c.destination}: ${c.destination_why}`);
      }
      for (const wn of report.warnings) out(`${wn.level === 'error' ? 'ERROR' : 'warning'}: ${wn.message}`);
    }
    // 1 when some copy needs the operator (stale, failed, never made, or gone); ABSENT and DUE do not.
    const bad = report.cells.some((c) => c.state === 'STALE' || c.state === 'FAILED' || c.state === 'NEVER' || c.state === 'MISSING');
    return bad ? EXIT.ERROR : EXIT.OK;
  } finally {
    state.close();
  }
}

/** The DRIVE column: here, or what keeps the destination from being used (the reason follows the table). */
function driveColumn(c: StatusCell): string {
  const seen = `seen ${c.last_seen ? c.last_seen.slice(0, 10) : 'never'}`;
  switch (c.destination_state) {
    case 'ready':
      return 'here';
    case 'absent':
      return `absent, ${seen}`;
    case 'not-mounted':
      return `not mounted, ${seen}`;
    case 'wrong-drive':
      return 'WRONG DRIVE';
    case 'missing':
      return 'REPOSITORY MISSING';
    default:
      return c.destination_state;
  }
}

function ago(s: number | null): string {
  if (s === null) return '?';
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 172800) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

export async function runDrive(argv: string[], env: Env): Promise<number> {
  const [sub, ...args] = argv;
  if (sub !== 'enroll') throw new LifeboatError('USAGE', `Unknown drive command ${JSON.stringify(sub ?? '')}`, { hint: 'use `lifeboat drive enroll DEST [--replace [--yes]]`' });
  const { values, positionals } = parse(args, { replace: { type: 'boolean' }, yes: { type: 'boolean', short: 'y' } });
  const [name] = positionals;
  if (!name) throw new LifeboatError('USAGE', 'drive enroll needs a destination name');
  const config = await loadCoverageConfig(values.config, env);
  if (values.replace && !values.yes) {
    // A replacement makes the old drive and repository untrusted: never without a yes.
    if (!process.stdin.isTTY) throw new LifeboatError('USAGE', `drive enroll ${name} --replace needs --yes when not run on a terminal`);
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    const answer = await rl.question(`Make the drive and repository found now the ones of '${name}'? The enrolled ones will be refused afterwards. Type yes: `);
    rl.close();
    if (answer.trim() !== 'yes') throw new LifeboatError('USAGE', `drive enroll ${name} --replace was not confirmed`);
  }
  const state = StateStore.open(config.state_dir);
  try {
    const r = await enrollDestination(config, name, { probe: systemProbe(), state, hostname: config.hostname ?? osHostname(), replace: values.replace === true });
    const dest = config.destinations.find((d) => d.name === name);
    const reminder =
      dest?.format === 'repository'
        ? `keep the repository password (${dest.password.kind === 'file' ? dest.password.path : 'from its password_command'}) somewhere off this server too: without it, nobody can read the backups on ${name}`
        : undefined;
    if (values.json) out(JSON.stringify({ ...r, ...(reminder !== undefined ? { reminder } : {}) }));
    else {
      for (const n of r.notes) out(`note: ${n}`);
      if (r.replaced) out(`replaced the enrolment of ${name}${r.replaced.uuid ? ` (drive UUID ${r.replaced.uuid})` : ''}${r.replaced.repositoryId ? ` (repository ${r.replaced.repositoryId.slice(0, 10)})` : ''}: it is refused from now on`);
      out(`enrolled ${r.destination} at ${r.root}${r.label ? ` (drive ${r.label})` : ''}${r.repositoryId ? `: repository ${r.repositoryId.slice(0, 10)} ${r.created ? 'created' : 'adopted'}` : ''}`);
      if (reminder !== undefined) out(`remember: ${reminder}`);
    }
    return EXIT.OK;
  } finally {
    state.close();
  }
}

export async function runUsb(args: string[], env: Env): Promise<number> {
  const { values } = parse(args, { 'no-run': { type: 'boolean' }, due: { type: 'boolean' } });
  const config = await loadCoverageConfig(values.config, env);
  const probe = systemProbe();
  const usbDests = config.destinations.filter((d) => d.kind === 'usb');
  // With --json every line is JSON, the run's NDJSON and these alike.
  const say = (o: Record<string, unknown>, text: string): void => out(values.json ? JSON.stringify(o) : text);
  const views = enrolledViews(config.state_dir, usbDests);
  const matches = await findAttachedDrives(probe, views);
  let code: number = EXIT.OK;
  // A drive with an enrolled label but not the enrolled UUID is named as what it is, and never mounted.
  for (const v of views) {
    if (matches.some((m) => m.destination.name === v.name)) continue;
    const st = await checkDestination(v, probe);
    if (st.state === 'wrong-drive') {
      say({ type: 'refused', destination: v.name, message: st.why }, `${v.name}: ${st.why}`);
      code = EXIT.UNAVAILABLE;
    }
  }
  if (matches.length === 0) {
    if (code !== EXIT.OK) return code;
    const wanted = usbDests.map((d) => (d.kind === 'usb' ? (d.label ?? d.uuid ?? d.name) : d.name));
    say({ type: 'no-drive', looking_for: wanted }, `no enrolled drive attached (looking for ${wanted.join(', ') || 'nothing: no usb destinations'})`);
    return EXIT.OK;
  }
  for (const m of matches) {
    const dest = m.destination.name;
    const mounted = await mountDrive(m, probe);
    for (const n of mounted.notes) say({ type: 'note', destination: dest, message: n }, `note: ${n}`);
    let failure: unknown;
    if (mounted.state.state !== 'ready') {
      say({ type: 'refused', destination: dest, message: mounted.state.why }, `${dest}: ${mounted.state.why}`);
      code = EXIT.ERROR;
      if (!mounted.mounted) continue; // not mounted by us: nothing to hand back
    } else if (!values['no-run']) {
      // By hand, plugging a drive in means "back it up now": every cell of its destination. The
      // automatic trigger passes --due and leaves what is not due to its own schedule.
      // The drive is handed back (unmounted) even when the run cannot start at all.
      try {
        const skipped = values.due ? notDue(config, dest) : 0;
        const r = await runRun(['--destination', dest, ...(values.due ? ['--due'] : []), ...(values.config ? ['--config', values.config] : []), ...(values.json ? ['--json'] : [])], env);
        code = combineExitCodes(code, r);
        if (skipped > 0) say({ type: 'skipped', destination: dest, not_due: skipped }, `${dest}: ${plural(skipped, 'cell')} not due, skipped; \`lifeboat usb\` without --due backs ${skipped === 1 ? 'it' : 'them'} up now`);
      } catch (e) {
        failure = e;
      }
    }
    const rel = await releaseDrive(m, probe);
    for (const n of rel.notes) say({ type: 'note', destination: dest, message: n }, `note: ${n}`);
    say({ type: 'release', destination: dest, safe: rel.safe, powered_off: rel.poweredOff, message: rel.message }, rel.message);
    if (!rel.safe) code = combineExitCodes(code, EXIT.ERROR);
    if (failure !== undefined) throw failure;
    if (code === EXIT.INTERRUPTED) break; // the drive just handed back was the last one

  }
  return code;
}

/**
 * The usb destinations with their enrolments. An unusable state store is no reason to leave a
 * plugged-in drive unhandled: without it drives are matched by the configuration alone, and the
 * run then fails on the state store and hands the drive back.
 */
function enrolledViews(stateDir: string, dests: readonly Config['destinations'][number][]): ReturnType<typeof enrolledView>[] {
  let state: StateStore;
  try {
    state = StateStore.open(stateDir);
  } catch {
    return dests.map(deviceView);
  }
  try {
    return dests.map((d) => enrolledView(d, state));
  } finally {
    state.close();
  }
}

/** How many cells of the destination `run --due` will skip as not due, from the state store. */
function notDue(config: Config, destination: string): number {
  const state = StateStore.open(config.state_dir);
  try {
    const now = Date.now();
    return selectCells(config, { destination }).filter((c) => !isDue(c.source, enrolledLastSuccess(state, c.source.name, destination)?.finishedAt, now)).length;
  } finally {
    state.close();
  }
}
