/**
 * Test helper, run as a child process by prune-restic.test.ts so that it can be SIGKILLed:
 * opens a repository, takes the exclusive lock, plans and executes a prune, and reports each
 * step as a JSON line on stdout. Not part of the engine's API.
 *
 *   node --import tsx src/core/prune/prune-child.ts <repo-dir> [--die-at <n>] [--die-after-pack-save] [--max-unused <percent>]
 *
 * The password comes from LIFEBOAT_TEST_PASSWORD (a test helper may read the environment; the
 * engine never does). --die-at n makes the process SIGKILL itself right after the n-th event of
 * executePrune, to land a kill exactly on a step boundary; --die-after-pack-save right after the
 * first pack file of the repack is stored, before the index naming it.
 */
import type { Backend } from '../backend/index.ts';
import { LocalBackend } from '../backend/index.ts';
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
  const dieAfterPackSave = args.includes('--die-after-pack-save');
  say({ ev: 'ready', pid: process.pid });
  const inner = new LocalBackend(dir);
  let executing = false;
  const backend: Backend = {
    location: inner.location,
    exists: () => inner.exists(),
    create: () => inner.create(),
    save: async (type, name, data) => {
      await inner.save(type, name, data);
      if (executing && dieAfterPackSave && type === 'data') {
        say({ ev: 'pack-saved', id: name });
        process.kill(process.pid, 'SIGKILL');
      }
    },
    load: (type, name, range) => inner.load(type, name, range),
    stat: (type, name) => inner.stat(type, name),
    remove: (type, name) => inner.remove(type, name),
    list: (type) => inner.list(type),
    close: () => inner.close(),
  };
  const repo = await Repository.open(backend, { password: process.env.LIFEBOAT_TEST_PASSWORD ?? '' });
  const lock = await repo.lock(true);
  say({ ev: 'locked' });
  const plan = await planPrune(repo, maxUnused === undefined ? {} : { maxUnused: { percent: maxUnused } });
  say({ ev: 'planned', keep: plan.keep.length, repack: plan.repack.length, remove: plan.remove.length, unindexed: plan.unindexed.length, copy: plan.copy.length, nothingToDo: plan.nothingToDo });
  let n = 0;
  executing = true;
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
