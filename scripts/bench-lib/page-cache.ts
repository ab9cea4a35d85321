/**
 * Page cache policy between measured commands. Every command starts after a `sync`, so one
 * tool's dirty pages are never written back on the next tool's clock. Dropping the cache (cold
 * runs) is optional because it is host-wide and makes every later read pay the disk.
 */
import { writeFile } from 'node:fs/promises';
import { runCommand } from './run-command.ts';

export async function settlePageCache(opts: { readonly drop: boolean }): Promise<void> {
  await runCommand('sync', []);
  if (opts.drop) await writeFile('/proc/sys/vm/drop_caches', '3\n');
}
