/**
 * Test helper (not part of the folder's face): a coverage config of `local` destinations in a
 * scratch directory, all sharing one password file, with one source backed up to all of them.
 * Destinations named in `repositories` get a fresh repository; the others an empty directory.
 */
import assert from 'node:assert/strict';
import { existsSync, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { LocalBackend } from '../../core/backend/index.ts';
import { Repository } from '../../core/repository/repository.ts';
import { parseConfigText, type Config } from '../../config/index.ts';

export const TEST_PASSWORD = 'unit password';

export async function localDestinationsConfig(dir: string, names: readonly string[], repositories: readonly string[]): Promise<{ config: Config; ids: Map<string, string> }> {
  await fsp.writeFile(path.join(dir, 'password'), `${TEST_PASSWORD}\n`, { mode: 0o600 });
  const ids = new Map<string, string>();
  for (const n of names) {
    if (!repositories.includes(n)) {
      await fsp.mkdir(path.join(dir, n));
      continue;
    }
    const repo = await Repository.init(new LocalBackend(path.join(dir, n)), TEST_PASSWORD);
    ids.set(n, repo.config.id);
    await repo.close();
  }
  const local = (name: string): string => `  ${name}:\n    kind: local\n    path: ${path.join(dir, name)}\n    password_file: ${path.join(dir, 'password')}\n`;
  const text = `destinations:\n${names.map(local).join('')}sources:\n  s:\n    paths: [${dir}]\n    priority: low\n    frequency: manual\n    destinations: [${names.join(', ')}]\n`;
  const r = await parseConfigText(text, 'c.yaml', { readFile: (p) => fsp.readFile(p, 'utf8'), exists: (p) => existsSync(p), env: {} });
  assert.deepEqual(r.problems, []);
  return { config: r.config, ids };
}
