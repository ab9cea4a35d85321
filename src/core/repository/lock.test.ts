import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { LocalBackend } from '../backend/index.ts';
import { LifeboatError } from '../errors.ts';
import { Repository } from './repository.ts';

test('two handles racing for a lock on a local repository never both hold one that excludes the other', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'lifeboat-lock-race-'));
  try {
    await Repository.init(new LocalBackend(dir), 'pw', { kdf: { N: 1024, r: 8, p: 1 } });
    const a = await Repository.open(new LocalBackend(dir), { password: 'pw' });
    const b = await Repository.open(new LocalBackend(dir), { password: 'pw' });
    for (let round = 0; round < 40; round++) {
      // exclusive/exclusive, shared/exclusive, exclusive/shared, shared/shared; b starts up to 3 ms later
      const kinds: [boolean, boolean] = [round % 2 === 0, round % 4 < 2];
      const first = a.lock(kinds[0]);
      await new Promise((r) => setTimeout(r, round % 4));
      const got = await Promise.allSettled([first, b.lock(kinds[1])]);
      const held = got.filter((g) => g.status === 'fulfilled').map((g) => (g as PromiseFulfilledResult<Awaited<ReturnType<Repository['lock']>>>).value);
      for (const g of got) if (g.status === 'rejected') assert.ok(g.reason instanceof LifeboatError && g.reason.code === 'REPO_LOCKED', String(g.reason));
      if (kinds[0] || kinds[1]) assert.ok(held.length <= 1, `round ${round}: ${held.length} locks held at once (${kinds.join('/')})`);
      else assert.equal(held.length, 2, 'shared locks do not exclude each other');
      for (const l of held) await l.release();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
