/**
 * Progress for long commands. On a TTY: one status line on stderr, redrawn at most 4 times a
 * second (files, bytes, rate, ETA). With --json: NDJSON `{"type":"progress",...}` lines on
 * stdout, at most once a second. Otherwise (systemd, pipes): silent until the summary.
 */
export interface ProgressState {
  files: number;
  bytes: number;
  totalFiles?: number | undefined;
  totalBytes?: number | undefined;
  errors?: number;
}

export class Progress {
  private last = 0;
  private readonly start = Date.now();
  private drawn = false;

  constructor(
    private readonly verb: string,
    private readonly mode: 'tty' | 'json' | 'quiet',
  ) {}

  static for(verb: string, json: boolean): Progress {
    return new Progress(verb, json ? 'json' : process.stderr.isTTY ? 'tty' : 'quiet');
  }

  update(s: ProgressState, force = false): void {
    const now = Date.now();
    const every = this.mode === 'json' ? 1000 : 250;
    if (this.mode === 'quiet' || (!force && now - this.last < every)) return;
    this.last = now;
    const secs = Math.max(0.001, (now - this.start) / 1000);
    const rate = s.bytes / secs;
    const eta = s.totalBytes && rate > 0 ? Math.max(0, (s.totalBytes - s.bytes) / rate) : undefined;
    if (this.mode === 'json') {
      const ev = { type: 'progress', action: this.verb, seconds_elapsed: Math.round(secs), files_done: s.files, bytes_done: s.bytes, total_files: s.totalFiles, total_bytes: s.totalBytes, seconds_remaining: eta === undefined ? undefined : Math.round(eta), errors: s.errors ?? 0 };
      process.stdout.write(JSON.stringify(ev) + '\n');
      return;
    }
    const pct = s.totalBytes ? ` ${((100 * s.bytes) / Math.max(1, s.totalBytes)).toFixed(1)}%` : '';
    // A ratio ("1/3 files") counts the whole; a lone count is singular or plural by itself.
    const files = s.totalFiles !== undefined ? `${s.files}/${s.totalFiles} files` : plural(s.files, 'file');
    const line = `[${fmtDuration(secs)}]${pct} ${this.verb} ${files} ${fmtBytes(s.bytes)}${s.totalBytes ? ' / ' + fmtBytes(s.totalBytes) : ''} ${fmtBytes(rate)}/s${eta !== undefined ? ' ETA ' + fmtDuration(eta) : ''}${s.errors ? ` ${plural(s.errors, 'error')}` : ''}`;
    process.stderr.write('\r\x1b[2K' + line);
    this.drawn = true;
  }

  done(): void {
    if (this.mode === 'tty' && this.drawn) process.stderr.write('\r\x1b[2K');
  }
}

/** "1 file", "2 files" (and `plural(n, 'copy', 'copies')` where -s is wrong). Every count in CLI output goes through it. */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

export function fmtBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

export function fmtDuration(s: number): string {
  const t = Math.round(s);
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = t % 60;
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}` : `${m}:${String(sec).padStart(2, '0')}`;
}
