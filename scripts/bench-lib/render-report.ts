/**
 * Renders a BenchResult as Markdown: one side-by-side table (a row per step), then the context
 * needed to read it (dataset, repository sizes, per-command fixed cost, cache policy, host load)
 * and every warning. Pure: returns a string.
 */
import type { BenchResult, StepResult, ToolStepResult } from './bench-result.ts';

const MB = 1e6;
const fmtS = (s: number): string => (s < 10 ? s.toFixed(2) : s.toFixed(1));
const fmtRatio = (r: number | undefined): string => (r === undefined ? '–' : `${r.toFixed(2)}×`);
const fmtMiB = (kib: number): string => `${Math.round(kib / 1024)}`;
const fmtMB = (b: number): string => (b / MB).toFixed(b < 100 * MB ? 1 : 0);

const fmtDelta = (b: number): string => (b >= MB ? `${(b / MB).toFixed(1)} MB` : b >= 1000 ? `${(b / 1000).toFixed(1)} kB` : `${b} B`);

function cells(r: ToolStepResult): { wall: string; mbs: string; cpu: string; rss: string } {
  if (r.status === 'ok') {
    const flag = r.warnings.length > 0 ? ' ⚠' : '';
    return { wall: fmtS(r.metrics.wallSeconds) + flag, mbs: r.metrics.mbPerSec.toFixed(1), cpu: fmtS(r.metrics.cpuSeconds), rss: fmtMiB(r.metrics.maxRssKiB) };
  }
  return { wall: r.status, mbs: '–', cpu: '–', rss: '–' };
}

export function renderTable(steps: readonly StepResult[]): string {
  const head = ['step', 'lifeboat s', 'restic s', 'time ratio', 'lifeboat MB/s', 'restic MB/s', 'lifeboat CPU s', 'restic CPU s', 'lifeboat RSS MiB', 'restic RSS MiB', 'RSS ratio'];
  const align = ['---', ...head.slice(1).map(() => '---:')];
  const rows = steps.map((s) => {
    const l = cells(s.tools.lifeboat);
    const r = cells(s.tools.restic);
    return [s.title, l.wall, r.wall, fmtRatio(s.ratio.wall), l.mbs, r.mbs, l.cpu, r.cpu, l.rss, r.rss, fmtRatio(s.ratio.rss)];
  });
  return [head, align, ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

export function renderReport(res: BenchResult): string {
  const out: string[] = [];
  const d = res.dataset;
  out.push(`## lifeboat vs restic — seed ${res.options.seed}, scale ${res.options.scale}, ${res.startedAt.slice(0, 16).replace('T', ' ')} UTC`);
  out.push('');
  out.push(renderTable(res.steps));
  out.push('');
  out.push(`Time ratio and RSS ratio are lifeboat / restic (above 1: lifeboat slower or bigger). MB/s is dataset bytes / wall time (MB = 10^6 B); CPU is user + sys; RSS is peak resident set of the process (GNU time %M).`);
  out.push('');
  out.push(`- dataset: ${d.files} files, ${d.dirs} dirs, ${fmtMB(d.bytes)} MB; after mutation ${fmtMB(d.bytesAfterMutation)} MB (${d.mutation.replace(/; changed\/new.*$/, '')})`);
  const repoSizes = (tool: 'lifeboat' | 'restic'): string => {
    const sizes = (['first-backup', 'no-change-backup', 'changed-backup'] as const).map((id) => {
      const r = res.steps.find((x) => x.id === id)?.tools[tool];
      return r?.status === 'ok' ? r.repoBytes : undefined;
    });
    const [a, b, c] = sizes;
    if (a === undefined) return `${tool} –`;
    const grow = (x: number | undefined, y: number | undefined): string => (x === undefined || y === undefined ? '–' : `+${fmtDelta(y - x)}`);
    return `${tool} ${fmtMB(a)} MB, ${grow(a, b)}, ${grow(b, c)}`;
  };
  out.push(`- repository size after step 1, then growth in steps 2 and 3: ${repoSizes('lifeboat')}; ${repoSizes('restic')}`);
  const o = res.open;
  out.push(`- fixed cost per command (\`cat config\`: process start + key derivation, median of 3): lifeboat ${o.lifeboat ? `${fmtS(o.lifeboat.wallSeconds)} s` : '–'}, restic ${o.restic ? `${fmtS(o.restic.wallSeconds)} s` : '–'}; step 1 pays it twice (init, backup)`);
  out.push(`- cache policy: ${res.cachePolicy}`);
  out.push(`- host: ${res.host.cpus} × ${res.host.cpuModel}, ${(res.host.memBytes / 2 ** 30).toFixed(0)} GiB RAM, Linux ${res.host.kernel}, node ${res.host.node}; load average ${res.host.loadAvgStart.map((x) => x.toFixed(2)).join(' ')} at start, ${res.host.loadAvgEnd.map((x) => x.toFixed(2)).join(' ')} at end`);
  out.push(`- versions: lifeboat ${res.versions.lifeboat}; ${res.versions.restic}`);

  const notes: string[] = [];
  for (const s of res.steps) {
    for (const tool of ['lifeboat', 'restic'] as const) {
      const r = s.tools[tool];
      if (r.status === 'ok') for (const w of r.warnings) notes.push(`⚠ ${s.title}, ${tool}: ${w}`);
      else if (r.status === 'failed') notes.push(`✗ ${s.title}, ${tool}: ${r.error}`);
    }
  }
  if (notes.length > 0) out.push('', ...notes.map((n) => `- ${n}`));
  return out.join('\n') + '\n';
}
