/**
 * One benchmark at a time per bench directory: two runs would delete each other's work dir.
 * The lock file holds the owner's pid; a lock whose process is gone is taken over.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { BenchError } from './bench-error.ts';

export async function lockBenchDir(benchDir: string): Promise<() => Promise<void>> {
  await fsp.mkdir(benchDir, { recursive: true });
  const file = path.join(benchDir, '.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await fsp.writeFile(file, `${process.pid}\n`, { flag: 'wx' });
      return async () => {
        await fsp.rm(file, { force: true });
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number((await fsp.readFile(file, 'utf8').catch(() => '')).trim());
      if (Number.isSafeInteger(pid) && pid > 0 && alive(pid)) {
        throw new BenchError('BUSY', `Cannot start: another benchmark (pid ${pid}) is using ${benchDir}`, { hint: 'wait for it, or pass --dir DIR' });
      }
      await fsp.rm(file, { force: true });
    }
  }
  throw new BenchError('BUSY', `Cannot lock ${benchDir}`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
