/**
 * Operator commands on top of the coverage map: restore, drill, check (and forget, see
 * forget-command.ts). Each takes --config F like the other coverage commands.
 */
import { parseArgs } from 'node:util';
import { hostname as osHostname } from 'node:os';
import { createInterface } from 'node:readline/promises';
import { LifeboatError } from '../core/errors.ts';
import { LocalBackend } from '../core/backend/local-backend.ts';
import { Repository } from '../core/repository/repository.ts';
import { check } from '../core/checker/checker.ts';
import { systemProbe, checkDestination } from '../ops/devices/index.ts';
import { StateStore } from '../ops/state/state-store.ts';
import { operatorRestore } from '../ops/restore/operator-restore.ts';
import { runDrills } from '../ops/drill/drill.ts';
import { deviceView } from '../ops/jobs/cell-context.ts';
import { destinationPassword } from '../ops/jobs/destination-password.ts';
import { loadCoverageConfig } from './load-coverage-config.ts';
import { EXIT } from './exit-codes.ts';
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
  if (values.json) out(JSON.stringify({ type: 'summary', destination: r.destination, snapshot: r.snapshot, target: r.target, safety_snapshot: r.safetySnapshot, files: r.summary.files, skipped_complete: r.summary.skippedFiles, bytes: r.summary.bytes, verified: r.summary.verifiedFiles, errors: r.summary.errors }));
  else {
    if (r.safetySnapshot) out(`safety snapshot ${r.safetySnapshot.slice(0, 8)} (tag pre-restore) holds what was there before`);
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
      onResult: (r) => {
        if (values.json) return out(JSON.stringify({ type: 'drill', ...r }));
        const cell = `${r.source} -> ${r.destination}`;
        if (r.outcome === 'skipped') return out(`SKIPPED ${cell}: ${r.why}`);
        out(`${r.outcome === 'passed' ? 'PASSED ' : 'FAILED '} ${cell}: snapshot ${r.snapshot?.slice(0, 8)}, ${r.filesChecked}/${r.totalFiles} files ${r.outcome === 'passed' ? 'restored and verified' : 'checked'} (${fmtBytes(r.bytesChecked)}), round ${r.round} coverage ${Math.round(r.coverage * 100)}%, ${plural(r.packsRead, 'pack')} re-read${r.app ? `; ${r.app}` : ''}`);
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
  const probe = systemProbe();
  let bad = false;
  const report: unknown[] = [];
  for (const d of config.destinations) {
    if (values.destination && d.name !== values.destination) continue;
    const st = await checkDestination(deviceView(d), probe);
    if (st.state !== 'ready') {
      report.push({ destination: d.name, state: 'absent', why: st.why });
      if (!values.json) out(`${d.name}: not checked: ${st.why}`);
      continue;
    }
    if (d.format !== 'repository') {
      report.push({ destination: d.name, state: 'mirror' });
      if (!values.json) out(`${d.name}: mirror (plain files); use \`lifeboat drill\` to compare it with the sources`);
      continue;
    }
    const password = await destinationPassword({ name: d.name, passwordFile: d.password.kind === 'file' ? d.password.path : undefined, passwordCommand: d.password.kind === 'command' ? d.password.command.argv : undefined });
    const repo = await Repository.open(new LocalBackend(d.root), { password });
    try {
      const lock = await repo.lock(true, 30_000);
      try {
        const r = await check(repo, values['read-data'] ? { readData: { n: 1, m: 1 } } : {});
        if (r.errors.length > 0) bad = true;
        report.push({ destination: d.name, ok: r.errors.length === 0, errors: r.errors, hints: r.hints, snapshots: r.snapshots, packs: r.packs, packs_read: r.packsRead });
        if (!values.json) {
          out(`${d.name}: ${r.errors.length === 0 ? 'no errors' : plural(r.errors.length, 'problem')} (${plural(r.snapshots, 'snapshot')}, ${plural(r.packs, 'pack')}${values['read-data'] ? `, ${r.packsRead} read` : ''})`);
          for (const e of r.errors) {
            const what = `${e.kind} ${e.id.slice(0, 8)}`;
            out(`  damaged ${what}: ${e.message.startsWith(what + ': ') ? e.message.slice(what.length + 2) : e.message}`);
            if (e.snapshots?.length) out(`    affects snapshots ${e.snapshots.map((s) => s.slice(0, 8)).join(', ')}`);
            if (e.hint) out(`    what to do: ${e.hint}`);
          }
          for (const h of r.hints) out(`  note: ${h.message}`);
        }
      } finally {
        await lock.release();
      }
    } finally {
      await repo.close();
    }
  }
  if (values.json) out(JSON.stringify({ destinations: report }));
  return bad ? EXIT.ERROR : EXIT.OK;
}

export async function runForgetCommand(args: string[], env: Env): Promise<number> {
  const { values } = parse(args, { destination: { type: 'string', short: 'd' }, prune: { type: 'boolean' }, 'dry-run': { type: 'boolean', short: 'n' } });
  const config = await loadCoverageConfig(values.config, env);
  const state = StateStore.open(config.state_dir);
  try {
    const { applyRetention } = await import('../ops/retention/apply-retention.ts');
    const results = await applyRetention(config, { destination: values.destination, prune: values.prune, dryRun: values['dry-run'] }, { probe: systemProbe(), state });
    for (const r of results) {
      if (values.json) {
        out(JSON.stringify({ type: 'retention', destination: r.destination, skipped: r.skipped, forgotten: r.forgotten, pruned: r.pruned, groups: r.plan?.groups }));
        continue;
      }
      if (r.skipped) {
        out(`${r.destination}: skipped: ${r.skipped}`);
        continue;
      }
      out(`${r.destination}: ${r.plan?.policy ?? ''}`);
      for (const l of r.lines) out(`  ${l}`);
    }
    return EXIT.OK;
  } finally {
    state.close();
  }
}
