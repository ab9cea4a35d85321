/**
 * Operator commands on top of the coverage map: restore, drill, check (and forget, see
 * forget-command.ts). Each takes --config F like the other coverage commands.
 */
import { parseArgs } from 'node:util';
import { hostname as osHostname } from 'node:os';
import { createInterface } from 'node:readline/promises';
import { LifeboatError } from '../core/errors.ts';
import { systemProbe } from '../ops/devices/index.ts';
import { StateStore } from '../ops/state/state-store.ts';
import { operatorRestore } from '../ops/restore/operator-restore.ts';
import { safetyLine, undoCommand } from './undo-command.ts';
import { writeDestinationFailure } from './destination-failure.ts';
import { runDrills } from '../ops/drill/drill.ts';
import { checkDestinations, failureCodes, type DestinationCheck } from '../ops/check/index.ts';
import { loadCoverageConfig } from './load-coverage-config.ts';
import { EXIT, exitCodeFor, exitCodeForAll } from './exit-codes.ts';
import { Progress, fmtBytes, plural } from './progress.ts';

type Env = NodeJS.ProcessEnv;
const out = (s: string): void => void process.stdout.write(s.endsWith('\n') ? s : s + '\n');

function parse<T extends Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>>(args: string[], options: T) {
  try {
    return parseArgs({ args, options: { config: { type: 'string', short: 'c' }, json: { type: 'boolean' }, quiet: { type: 'boolean', short: 'q' }, ...options }, allowPositionals: false, strict: true });
  } catch (e) {
    throw new LifeboatError('USAGE', (e as Error).message, { hint: 'run `lifeboat --help`' });
  }
}

export async function runRestoreCommand(args: string[], env: Env): Promise<number> {
  const { values } = parse(args, {
    source: { type: 'string', short: 's' },
    destination: { type: 'string', short: 'd' },
    snapshot: { type: 'string' },
    path: { type: 'string', multiple: true },
    target: { type: 'string', short: 't' },
    'in-place': { type: 'boolean' },
    'dry-run': { type: 'boolean', short: 'n' },
    yes: { type: 'boolean', short: 'y' },
  });
  if (!values.source) throw new LifeboatError('USAGE', 'restore needs --source S');
  const config = await loadCoverageConfig(values.config, env);
  let confirmed = !!values.yes;
  if (values['in-place'] && !values['dry-run'] && !confirmed && process.stdin.isTTY) {
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    const answer = await rl.question(`Restore ${values.source} IN PLACE, overwriting live files (a safety snapshot is taken first)? Type yes: `);
    rl.close();
    confirmed = answer.trim() === 'yes';
    if (!confirmed) throw new LifeboatError('USAGE', 'In-place restore not confirmed; nothing was changed');
  }
  const progress = Progress.for('restore', !!values.json);
  const r = await operatorRestore(
    config,
    {
      source: values.source,
      destination: values.destination,
      snapshot: values.snapshot,
      paths: values.path,
      target: values.target,
      inPlace: values['in-place'],
      confirmed,
      dryRun: values['dry-run'],
      hostname: config.hostname ?? osHostname(),
      onEvent: (e) => {
        if (e.type === 'progress') progress.update(e);
        else if (values.json) out(JSON.stringify({ type: 'error', path: e.path, message: e.message }));
        else process.stderr.write(`\rerror: ${e.path}: ${e.message}\n`);
      },
    },
    { probe: systemProbe() },
  );
  progress.done();
  if (r.kind === 'plan') {
    if (values.json) out(JSON.stringify(r));
    else {
      for (const e of r.entries) out(`${e.action.padEnd(9)} ${e.path}${e.why ? ` (${e.why})` : ''}`);
      const c = (a: string): number => r.entries.filter((e) => e.action === a).length;
      out(`dry run from ${r.destination} snapshot ${r.snapshot.slice(0, 8)}: ${c('new')} new, ${c('replace')} replaced, ${c('unchanged')} unchanged${c('refused') ? `, ${c('refused')} refused` : ''}; nothing was written`);
    }
    return EXIT.OK;
  }
  if (r.kind === 'mirror') {
    if (values.json) out(JSON.stringify(r));
    else out(`${r.output.trim()}\nrestored from mirror ${r.destination} into ${r.target}`);
    return EXIT.OK;
  }
  const undo = r.safetySnapshot ? undoCommand({ source: values.source, destination: r.destination, safetySnapshot: r.safetySnapshot, config: values.config }) : undefined;
  if (values.json) out(JSON.stringify({ type: 'summary', destination: r.destination, snapshot: r.snapshot, target: r.target, safety_snapshot: r.safetySnapshot, undo, files: r.summary.files, skipped_complete: r.summary.skippedFiles, bytes: r.summary.bytes, verified: r.summary.verifiedFiles, errors: r.summary.errors }));
  else {
    if (r.safetySnapshot) {
      out(safetyLine(values.source, r.safetySnapshot));
      out(`to undo this restore: ${undo}`);
    }
    out(`restored ${plural(r.summary.files, 'file')} (${fmtBytes(r.summary.bytes)}) from ${r.destination} snapshot ${r.snapshot.slice(0, 8)} into ${r.target}; ${r.summary.verifiedFiles} verified${r.summary.skippedFiles ? `, ${r.summary.skippedFiles} already complete` : ''}`);
    for (const e of r.summary.errors) out(`error: ${e.path}: ${e.message}`);
  }
  return r.summary.errors.length > 0 ? EXIT.ERROR : EXIT.OK;
}

export async function runDrillCommand(args: string[], env: Env): Promise<number> {
  const { values } = parse(args, { source: { type: 'string', short: 's' }, destination: { type: 'string', short: 'd' }, full: { type: 'boolean' } });
  const config = await loadCoverageConfig(values.config, env);
  const state = StateStore.open(config.state_dir);
  try {
    const results = await runDrills(config, { source: values.source, destination: values.destination, full: values.full }, {
      probe: systemProbe(),
      state,
      env,
      onResult: (r) => {
        if (values.json) return out(JSON.stringify({ type: 'drill', ...r }));
        const cell = `${r.source} -> ${r.destination}`;
        if (r.outcome === 'skipped') return out(`SKIPPED ${cell}: ${r.why}`);
        const verdict = r.outcome === 'passed' ? 'PASSED ' : 'FAILED ';
        const tail = `${r.notes.map((n) => `; ${n}`).join('')}${r.app ? `; ${r.app}` : ''}`;
        // Tagging `verified` rewrites the snapshot under a new id (as `restic tag`): name both.
        const retagged = r.retaggedFrom ? `; snapshot ${r.retaggedFrom.slice(0, 8)} verified, now ${r.snapshot?.slice(0, 8)}` : '';
        if (r.snapshot === undefined && r.why !== undefined) out(`FAILED  ${cell}: ${r.why}`);
        else if (r.format === 'mirror') out(`${verdict} ${cell}: mirror, ${r.filesChecked}/${r.totalFiles} files checked against the live source (${fmtBytes(r.bytesChecked)}), round ${r.round} coverage ${Math.round(r.coverage * 100)}%${tail}`);
        else out(`${verdict} ${cell}: snapshot ${(r.retaggedFrom ?? r.snapshot)?.slice(0, 8)}, ${r.filesChecked}/${r.totalFiles} files ${r.outcome === 'passed' ? 'restored and verified' : 'checked'} (${fmtBytes(r.bytesChecked)}), round ${r.round} coverage ${Math.round(r.coverage * 100)}%, ${plural(r.packsRead, 'pack')} re-read${retagged}${tail}`);
        for (const f of r.findings) out(`   damaged: ${f.path}: ${f.problem}`);
      },
    });
    return results.some((r) => r.outcome === 'failed') ? EXIT.ERROR : EXIT.OK;
  } finally {
    state.close();
  }
}

export async function runCheckCommand(args: string[], env: Env): Promise<number> {
  const { values } = parse(args, { destination: { type: 'string', short: 'd' }, 'read-data': { type: 'boolean' } });
  const config = await loadCoverageConfig(values.config, env);
  let progress: Progress | undefined;
  const results = await checkDestinations(config, {
    destination: values.destination,
    readData: values['read-data'],
    onEvent: (e) => {
      if (values.json) return;
      if (e.type === 'progress') (progress ??= Progress.for(`check ${e.destination}`, false)).update({ files: e.packs, totalFiles: e.totalPacks, bytes: e.bytes, totalBytes: e.totalBytes });
      else if (e.type === 'destination-done') {
        progress?.done();
        progress = undefined;
        for (const line of describeCheck(e.result, !!values['read-data'])) out(line);
      }
    },
  }, { probe: systemProbe() });
  if (values.json) out(JSON.stringify({ destinations: results.map(checkJson) }));
  return exitCodeForAll(failureCodes(results));
}

/** The text lines of one destination's check. */
function describeCheck(r: DestinationCheck, readData: boolean): string[] {
  switch (r.outcome) {
    case 'not-here':
      return [`${r.destination}: not checked: ${r.why}`];
    case 'mirror':
      return [`${r.destination}: mirror (plain files); use \`lifeboat drill\` to compare it with the sources`];
    case 'failed':
      return [`${r.destination}: NOT CHECKED: ${r.error.message} [${r.error.code}]`, ...(r.error.hint ? [`  what to do: ${r.error.hint}`] : [])];
    case 'checked': {
      const lines = [`${r.destination}: ${r.ok ? 'no errors' : plural(r.errors.length, 'problem')} (${plural(r.snapshots, 'snapshot')}, ${plural(r.packs, 'pack')}${readData ? `, ${r.packsRead} read` : ''})`];
      for (const e of r.errors) {
        const what = `${e.kind} ${e.id.slice(0, 8)}`;
        lines.push(`  damaged ${what}: ${e.message.startsWith(what + ': ') ? e.message.slice(what.length + 2) : e.message}`);
        if (e.snapshots?.length) lines.push(`    affects snapshots ${e.snapshots.map((s) => s.slice(0, 8)).join(', ')}`);
        if (e.hint) lines.push(`    what to do: ${e.hint}`);
      }
      for (const h of r.hints) lines.push(`  note: ${h.message}`);
      return lines;
    }
  }
}

/** One destination in `check --json`: the shape of earlier releases, plus `state` and `error`. */
function checkJson(r: DestinationCheck): Record<string, unknown> {
  switch (r.outcome) {
    case 'not-here':
      return { destination: r.destination, state: 'absent', why: r.why };
    case 'mirror':
      return { destination: r.destination, state: 'mirror' };
    case 'failed':
      return { destination: r.destination, state: 'failed', ok: false, error: r.error };
    case 'checked':
      return { destination: r.destination, state: 'checked', ok: r.ok, errors: r.errors, hints: r.hints, snapshots: r.snapshots, packs: r.packs, packs_read: r.packsRead };
  }
}

export async function runForgetCommand(args: string[], env: Env): Promise<number> {
  const { values } = parse(args, { destination: { type: 'string', short: 'd' }, prune: { type: 'boolean' }, 'dry-run': { type: 'boolean', short: 'n' } });
  const config = await loadCoverageConfig(values.config, env);
  const state = StateStore.open(config.state_dir);
  try {
    const { applyRetention } = await import('../ops/retention/apply-retention.ts');
    const results = await applyRetention(config, { destination: values.destination, prune: values.prune, dryRun: values['dry-run'] }, { probe: systemProbe(), state });
    for (const r of results) {
      if (r.failed) writeDestinationFailure(r.destination, r.failed);
      if (values.json) {
        out(JSON.stringify({ type: 'retention', destination: r.destination, skipped: r.skipped, failed: r.failed, forgotten: r.forgotten, pruned: r.pruned, groups: r.plan?.groups, safety: r.safety }));
        continue;
      }
      if (r.failed) {
        out(`${r.destination}: failed: ${r.failed.message}`);
        continue;
      }
      if (r.skipped) {
        out(`${r.destination}: skipped: ${r.skipped}`);
        continue;
      }
      out(`${r.destination}: ${r.plan?.policy ?? ''}`);
      for (const l of r.lines) out(`  ${l}`);
    }
    // Every destination was reported; the first failure decides the exit (11 locked, 10 no repository, ...).
    const failed = results.find((r) => r.failed)?.failed;
    return failed ? exitCodeFor(failed.code) : EXIT.OK;
  } finally {
    state.close();
  }
}
