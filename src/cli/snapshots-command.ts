/**
 * `lifeboat snapshots [--source S] [--destination D] [--json]`: what a restore can pick from, per
 * destination of the coverage map. Times are local, as `restore --snapshot DATE` reads them.
 */
import { parseArgs } from 'node:util';
import { LifeboatError } from '../core/errors.ts';
import { systemProbe } from '../ops/devices/index.ts';
import { listSourceSnapshots, type ListedSnapshot } from '../ops/restore/source-snapshots.ts';
import { loadCoverageConfig } from './load-coverage-config.ts';
import { EXIT, exitCodeFor } from './exit-codes.ts';
import { writeDestinationFailure } from './destination-failure.ts';

const out = (s: string): void => void process.stdout.write(s + '\n');
const p2 = (n: number): string => String(n).padStart(2, '0');
function localTime(t: string): string {
  const d = new Date(t);
  if (Number.isNaN(d.getTime())) return t;
  return `${d.getFullYear()}-${p2(d.getMonth() + 1)}-${p2(d.getDate())} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}`;
}

function row(s: ListedSnapshot): string {
  const mark = s.safety ? `safety snapshot${s.source ? ` of ${s.source}` : ''}, kept until ${s.safety.until.slice(0, 10)}, picked only by id` : s.verified ? 'verified' : '';
  return `  ${s.shortId}  ${localTime(s.time)}  ${s.host}  ${s.paths.join(',')}  [${s.tags.join(', ')}]${mark ? `  ${mark}` : ''}`;
}

export async function runSnapshotsCommand(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args, options: { config: { type: 'string', short: 'c' }, json: { type: 'boolean' }, source: { type: 'string', short: 's' }, destination: { type: 'string', short: 'd' } }, allowPositionals: false, strict: true }));
  } catch (e) {
    throw new LifeboatError('USAGE', (e as Error).message, { hint: 'run `lifeboat --help`' });
  }
  const config = await loadCoverageConfig(values.config, env);
  const results = await listSourceSnapshots(config, { source: values.source, destination: values.destination }, { probe: systemProbe() });
  for (const r of results) {
    if (r.state === 'failed') writeDestinationFailure(r.destination, r.error);
    if (values.json) continue;
    if (r.state === 'here') {
      out(`${r.destination}: ${r.snapshots.length} snapshot${r.snapshots.length === 1 ? '' : 's'}${values.source ? ` of ${values.source}` : ''}`);
      for (const s of r.snapshots) out(row(s));
    } else if (r.state === 'failed') out(`${r.destination}: failed: ${r.error.message}`);
    else out(`${r.destination}: ${r.state === 'mirror' ? 'mirror' : 'skipped'}: ${r.why}`);
  }
  if (values.json) out(JSON.stringify({ destinations: results }));
  const failed = results.find((r) => r.state === 'failed');
  return failed?.state === 'failed' ? exitCodeFor(failed.error.code) : EXIT.OK;
}
