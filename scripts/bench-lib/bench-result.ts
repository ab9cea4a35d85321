/**
 * The shape of a benchmark run, as written to results.json (schema "lifeboat-bench/1") and
 * rendered as the Markdown table. Times in seconds, memory in KiB as GNU time reports it,
 * throughput in MB/s with MB = 10^6 bytes of the dataset (logical file bytes, not repository bytes).
 */
import type { ToolName } from './bench-tool.ts';
import type { RestoreVerdict } from './verify-restore.ts';

export type StepId = 'first-backup' | 'no-change-backup' | 'changed-backup' | 'restore' | 'check';

export const STEP_TITLES: Readonly<Record<StepId, string>> = {
  'first-backup': '1. first backup (incl. init)',
  'no-change-backup': '2. no-change backup',
  'changed-backup': '3. backup after mutation',
  restore: '4. restore latest to tmpfs',
  check: '5. check --read-data',
};

export interface CommandRecord {
  readonly argv: readonly string[];
  readonly exitCode: number | null;
  readonly wallSeconds: number;
  readonly userSeconds: number;
  readonly sysSeconds: number;
  readonly maxRssKiB: number;
  /** 1-minute load average just before the command: other work on the host skews wall time. */
  readonly loadAvg1: number;
  readonly stdoutLog: string;
  readonly stderrLog: string;
}

/** The backup summary both tools print with --json, reduced to the fields they share. */
export interface BackupCounts {
  readonly filesNew: number;
  readonly filesChanged: number;
  readonly filesUnmodified: number;
  /** As each tool reports it; not comparable (restic counts bytes before compression). */
  readonly dataAdded: number;
  readonly snapshotId: string;
}

export interface Metrics {
  readonly wallSeconds: number;
  readonly cpuSeconds: number;
  readonly maxRssKiB: number;
  readonly mbPerSec: number;
}

export type ToolStepResult =
  | {
      readonly status: 'ok';
      readonly metrics: Metrics;
      readonly commands: readonly CommandRecord[];
      readonly backup?: BackupCounts;
      /** Size of the repository directory after the step. */
      readonly repoBytes?: number;
      readonly restoreVerdict?: RestoreVerdict;
      readonly warnings: readonly string[];
    }
  | { readonly status: 'failed'; readonly error: string; readonly commands: readonly CommandRecord[] }
  | { readonly status: 'skipped'; readonly reason: string };

export interface StepResult {
  readonly id: StepId;
  readonly title: string;
  /** Dataset bytes the MB/s figures divide by (after the mutation for steps 3 to 5). */
  readonly datasetBytes: number;
  /** Which tool ran first; the leader alternates step by step. */
  readonly order: readonly ToolName[];
  readonly tools: Readonly<Record<ToolName, ToolStepResult>>;
  /** lifeboat / restic; above 1 means lifeboat took longer or used more. */
  readonly ratio: { readonly wall?: number; readonly cpu?: number; readonly rss?: number };
}

export interface OpenOverhead {
  /** Median of three runs of `cat config`: process start plus key derivation. */
  readonly wallSeconds: number;
  readonly maxRssKiB: number;
}

export interface BenchResult {
  readonly schema: 'lifeboat-bench/1';
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly options: { readonly seed: number; readonly scale: number; readonly dropCaches: boolean; readonly keep: boolean };
  readonly cachePolicy: string;
  readonly host: {
    readonly cpus: number;
    readonly cpuModel: string;
    readonly memBytes: number;
    readonly kernel: string;
    readonly node: string;
    readonly loadAvgStart: readonly number[];
    readonly loadAvgEnd: readonly number[];
  };
  readonly versions: Readonly<Record<ToolName, string>>;
  readonly dataset: {
    readonly cacheDir: string;
    readonly source: string;
    readonly generatedSeconds: number | undefined;
    readonly files: number;
    readonly dirs: number;
    readonly bytes: number;
    readonly mutation: string;
    readonly bytesAfterMutation: number;
  };
  readonly steps: readonly StepResult[];
  readonly open: Readonly<Partial<Record<ToolName, OpenOverhead>>>;
  readonly logsDir: string;
}
