#!/usr/bin/env node
// Bundles the CLI and the blob worker into dist/ with esbuild (seconds, no type check; `npm run
// typecheck` is the type check). bin/lifeboat runs dist/ when it is newer than every source
// file, and the TypeScript sources through tsx otherwise, so a stale build is never used.
import { build } from 'esbuild';
import { writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// Chunk names carry content hashes: without a clean start, every build would leave the last one's behind.
rmSync(path.join(root, 'dist'), { recursive: true, force: true });
mkdirSync(path.join(root, 'dist'), { recursive: true });
await build({
  entryPoints: { cli: path.join(root, 'src/cli/main.ts'), 'worker-thread': path.join(root, 'src/core/worker-thread/worker-thread.ts') },
  outdir: path.join(root, 'dist'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  splitting: true, // command modules load on demand (see src/cli/main.ts)
  chunkNames: 'chunks/[name]-[hash]',
  target: 'node20',
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning',
});
writeFileSync(path.join(root, 'dist', '.built'), new Date().toISOString() + '\n');
