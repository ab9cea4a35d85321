/**
 * Test helper, run as a child process by prune-restic.test.ts so that it can be SIGKILLed:
 * opens a repository, takes the exclusive lock, plans and executes a prune, and reports each
 * step as a JSON line on stdout. Not part of the engine's API.
 *
 *   node --import tsx src/core/prune/prune-child.ts <repo-dir> [--die-at <n>] [--max-unused <percent>]
 *
 * The password comes from LIFEBOAT_TEST_PASSWORD (a test helper may read the environment; the
 * engine never does). --die-at n makes the process SIGKILL itself right after the n-th event of
 * executePrune, to land a kill exactly on a step boundary.
 */
import { LocalBackend } from '../backend/local-backend.ts';
import { Repository } from '../repository/repository.ts';
import { executePrune, type PruneEvent } from './execute-prune.ts';
import { planPrune } from './plan-prune.ts';

const say = (o: Record<string, unknown>): void => {
  process.stdout.write(JSON.stringify(o) + '\n');
};

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const dir = args[0];
  if (!dir) throw new Error('usage: prune-child.ts <repo-dir> [--die-at n] [--max-unused percent]');
  const at = (flag: string): number | undefined => {
    const i = args.indexOf(flag);
    return i >= 0 ? Number(args[i + 1]) : undefined;
  };
  const dieAt = at('--die-at');
  const maxUnused = at('--max-unused');
  say({ ev: 'ready', pid: process.pid });
  const repo = await Repository.open(new LocalBackend(dir), { password: process.env.LIFEBOAT_TEST_PASSWORD ?? '' });
  const lock = await repo.lock(true);
  say({ ev: 'locked' });
  const plan = await planPrune(repo, maxUnused === undefined ? {} : { maxUnused: { percent: maxUnused } });
  say({ ev: 'planned', keep: plan.keep.length, repack: plan.repack.length, remove: plan.remove.length, unindexed: plan.unindexed.length, copy: plan.copy.length, nothingToDo: plan.nothingToDo });
  let n = 0;
  const result = await executePrune(repo, plan, {
    onEvent: (e: PruneEvent) => {
      n++;
      say({ ev: 'event', n, ...e });
      if (dieAt === n) process.kill(process.pid, 'SIGKILL');
    },
  });
  say({ ev: 'executed', ...result });
  await lock.release();
  await repo.close();
  say({ ev: 'done' });
}

main().catch((e: unknown) => {
  process.stderr.write(`prune-child: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
