/**
 * One benchmark step for one tool: the commands it times, what it checks afterwards (backup
 * counts, repository size, the restored tree), and the metrics. A step's clock covers only the
 * tool's own commands; the page cache is settled before it and verification runs after it.
 */
import { promises as fsp } from 'node:fs';
import { loadavg } from 'node:os';
import * as path from 'node:path';
import type { BenchTool } from './bench-tool.ts';
import type { BackupCounts, CommandRecord, StepId, ToolStepResult } from './bench-result.ts';
import { measureCommand } from './measure-command.ts';
import { settlePageCache } from './page-cache.ts';
import { treeStats } from './dataset.ts';
import { verifyRestore } from './verify-restore.ts';

export interface ToolStepContext {
  readonly tool: BenchTool;
  readonly repo: string;
  readonly source: string;
  /** Directory on the tmpfs the restore writes into (one per tool, deleted afterwards). */
  readonly restoreTarget: string;
  readonly logsDir: string;
  readonly datasetBytes: number;
  readonly dropCaches: boolean;
  readonly signal?: AbortSignal;
}

export async function runToolStep(step: StepId, ctx: ToolStepContext): Promise<ToolStepResult> {
  const { tool } = ctx;
  const argvs =
    step === 'first-backup' ? [tool.init(ctx.repo), tool.backup(ctx.repo, ctx.source)]
    : step === 'restore' ? [tool.restore(ctx.repo, ctx.restoreTarget)]
    : step === 'check' ? [tool.check(ctx.repo)]
    : [tool.backup(ctx.repo, ctx.source)];
  if (step === 'restore') {
    await fsp.rm(ctx.restoreTarget, { recursive: true, force: true });
    await fsp.mkdir(ctx.restoreTarget, { recursive: true });
  }
  await settlePageCache({ drop: ctx.dropCaches });

  const commands: CommandRecord[] = [];
  for (const [i, argv] of argvs.entries()) {
    const loadAvg1 = loadavg()[0] ?? 0;
    const m = await measureCommand(argv, { env: tool.env, logBase: path.join(ctx.logsDir, `${step}-${tool.name}-${i + 1}`), signal: ctx.signal });
    commands.push({ argv: m.command, exitCode: m.exitCode, wallSeconds: m.wallSeconds, userSeconds: m.userSeconds, sysSeconds: m.sysSeconds, maxRssKiB: m.maxRssKiB, loadAvg1, stdoutLog: m.stdoutLog, stderrLog: m.stderrLog });
    if (m.exitCode !== 0) {
      const tail = (await fsp.readFile(m.stderrLog, 'utf8').catch(() => '')).trim().split('\n').slice(-3).join(' | ');
      return { status: 'failed', error: `${path.basename(argv[0])} exited with ${m.exitCode ?? 'a signal'} (${m.stderrLog})${tail ? `: ${tail}` : ''}`, commands };
    }
  }

  const wallSeconds = commands.reduce((s, c) => s + c.wallSeconds, 0);
  const metrics = {
    wallSeconds,
    cpuSeconds: commands.reduce((s, c) => s + c.userSeconds + c.sysSeconds, 0),
    maxRssKiB: Math.max(...commands.map((c) => c.maxRssKiB)),
    mbPerSec: ctx.datasetBytes / 1e6 / wallSeconds,
  };
  const warnings: string[] = [];

  if (step === 'restore') {
    const restored = path.join(ctx.restoreTarget, ctx.source);
    const restoreVerdict = await verifyRestore(ctx.source, restored);
    if (restoreVerdict.problemCount > 0) warnings.push(`restored tree differs from the source in ${restoreVerdict.problemCount} entries, e.g. ${restoreVerdict.problems.slice(0, 3).join('; ')}`);
    await fsp.rm(ctx.restoreTarget, { recursive: true, force: true });
    return { status: 'ok', metrics, commands, restoreVerdict, warnings };
  }
  if (step === 'check') return { status: 'ok', metrics, commands, warnings };

  const last = commands[commands.length - 1]!;
  const backup = await readBackupCounts(last.stdoutLog);
  if (!backup) warnings.push(`no JSON backup summary in ${last.stdoutLog}`);
  else if (step === 'no-change-backup' && backup.filesNew + backup.filesChanged > 0) warnings.push(`no-change backup read ${backup.filesNew} new and ${backup.filesChanged} changed files: parent snapshot not used?`);
  else if (step === 'changed-backup' && backup.filesNew + backup.filesChanged === 0) warnings.push('backup after mutation saw no new or changed files');
  const repoBytes = (await treeStats(ctx.repo)).bytes;
  return { status: 'ok', metrics, commands, ...(backup ? { backup } : {}), repoBytes, warnings };
}

/** The last `"message_type":"summary"` line of a `backup --json` run (restic and lifeboat alike). */
async function readBackupCounts(stdoutLog: string): Promise<BackupCounts | undefined> {
  const lines = (await fsp.readFile(stdoutLog, 'utf8')).split('\n').filter((l) => l.includes('"summary"'));
  const line = lines[lines.length - 1];
  if (!line) return undefined;
  try {
    const j = JSON.parse(line) as Record<string, unknown>;
    const num = (k: string): number => (typeof j[k] === 'number' ? (j[k] as number) : NaN);
    return {
      filesNew: num('files_new'),
      filesChanged: num('files_changed'),
      filesUnmodified: num('files_unmodified'),
      dataAdded: num('data_added'),
      snapshotId: String(j.snapshot_id ?? ''),
    };
  } catch {
    return undefined;
  }
}
