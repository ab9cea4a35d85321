/**
 * `npm run bench`: lifeboat vs restic on the deterministic dataset, in one run, side by side.
 * The only part of the benchmark that reads argv, prints and sets the exit code; the work is in
 * bench-lib/ (run-bench.ts has the plan and the fairness rules). Exit 0 when both tools finished
 * every step, 1 when a tool failed a step or the run could not proceed, 2 on a usage error,
 * 130 when interrupted. Progress goes to stderr, the Markdown report to stdout, and the full
 * record to <dir>/results.json.
 */
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BENCH_USAGE, parseBenchArgs } from './bench-lib/bench-options.ts';
import { BenchError } from './bench-lib/bench-error.ts';
import { runBench, type BenchEvent } from './bench-lib/run-bench.ts';
import { renderReport } from './bench-lib/render-report.ts';
import { STEP_TITLES } from './bench-lib/bench-result.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function describe(e: BenchEvent): string {
  if (e.type === 'info') return e.message;
  const r = e.result;
  const head = `  ${e.tool.padEnd(8)} ${STEP_TITLES[e.step]}:`;
  if (r.status === 'skipped') return `${head} skipped (${r.reason})`;
  if (r.status === 'failed') return `${head} FAILED: ${r.error}`;
  const m = r.metrics;
  return `${head} ${m.wallSeconds.toFixed(2)} s, ${m.mbPerSec.toFixed(1)} MB/s, CPU ${m.cpuSeconds.toFixed(1)} s, peak RSS ${Math.round(m.maxRssKiB / 1024)} MiB${r.warnings.map((w) => `\n    warning: ${w}`).join('')}`;
}

async function main(argv: readonly string[]): Promise<number> {
  const parsed = parseBenchArgs(argv, repoRoot);
  if (parsed.help) {
    process.stdout.write(BENCH_USAGE);
    return 0;
  }
  if ('problems' in parsed) {
    for (const p of parsed.problems) process.stderr.write(`bench: ${p}\n`);
    process.stderr.write(BENCH_USAGE);
    return 2;
  }
  const opts = parsed.options;
  const ac = new AbortController();
  const onSignal = (): void => ac.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const result = await runBench(opts, { signal: ac.signal, onEvent: (e) => process.stderr.write(describe(e) + '\n') });
    const jsonPath = path.join(opts.benchDir, 'results.json');
    writeFileSync(jsonPath, JSON.stringify(result, null, 2) + '\n');
    process.stdout.write('\n' + renderReport(result));
    process.stderr.write(`\nresults: ${jsonPath}; command logs: ${result.logsDir}${opts.keep ? `; work dir kept: ${path.join(opts.benchDir, 'work')}` : ''}\n`);
    return result.steps.every((s) => s.tools.lifeboat.status === 'ok' && s.tools.restic.status === 'ok') ? 0 : 1;
  } catch (e) {
    if (e instanceof BenchError) {
      process.stderr.write(`bench: ${e.message} [${e.code}]\n`);
      if (e.hint) process.stderr.write(`  hint: ${e.hint}\n`);
      return e.code === 'INTERRUPTED' ? 130 : e.code === 'USAGE' ? 2 : 1;
    }
    if (ac.signal.aborted) {
      process.stderr.write('bench: interrupted [INTERRUPTED]\n');
      return 130;
    }
    throw e;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

process.exitCode = await main(process.argv.slice(2));
