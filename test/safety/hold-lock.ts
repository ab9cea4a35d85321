/**
 * Test helper process: opens a repository through the engine, takes a lock (`exclusive` or
 * `shared`), prints `locked <pid>` and holds it until its stdin closes, then releases it.
 * Usage: node --import tsx test/safety/hold-lock.ts REPO exclusive|shared  (password in LIFEBOAT_PASSWORD)
 */
import { once } from 'node:events';
import { LocalBackend } from '../../src/core/backend/local-backend.ts';
import { Repository } from '../../src/core/repository/repository.ts';

const [dir, mode] = process.argv.slice(2);
if (!dir || (mode !== 'exclusive' && mode !== 'shared')) throw new Error('usage: hold-lock.ts REPO exclusive|shared');
const repo = await Repository.open(new LocalBackend(dir), { password: process.env.LIFEBOAT_PASSWORD ?? '' });
const lock = await repo.lock(mode === 'exclusive');
process.stdout.write(`locked ${process.pid}\n`);
process.stdin.resume();
await once(process.stdin, 'end');
await lock.release();
await repo.close();
