#!/usr/bin/env node
/**
 * Builds the native addon (binding.gyp -> build/Release/lifeboat_posix.node) offline.
 *
 * Why not plain `node-gyp rebuild`: without a nodedir, node-gyp downloads the Node headers
 * tarball from the internet, and the machines this project builds on reach only the package
 * registries. Distribution packages of Node (Debian's, NodeSource's) and the official tarballs
 * (nvm, asdf, ...) all ship the headers under <prefix>/include/node, next to bin/node, so we
 * point node-gyp there. An explicit nodedir (npm config `nodedir`, which npm exports to scripts
 * as npm_config_nodedir) wins.
 *
 * Run by npm as the package's `install` script (`npm ci`, `npm install`), or by hand:
 * `node scripts/build-native.mjs`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function fail(message) {
  process.stderr.write(`lifeboat: Cannot build the native addon: ${message}\n`);
  process.exit(1);
}

/** The "x.y.z" that <dir>/include/node/node_version.h declares, or undefined. */
function headerVersion(dir) {
  try {
    const text = readFileSync(path.join(dir, 'include', 'node', 'node_version.h'), 'utf8');
    const part = (name) => new RegExp(`#define\\s+NODE_${name}_VERSION\\s+(\\d+)`).exec(text)?.[1];
    const [major, minor, patch] = [part('MAJOR'), part('MINOR'), part('PATCH')];
    return major && minor && patch ? `${major}.${minor}.${patch}` : undefined;
  } catch {
    return undefined;
  }
}

function findNodeDir() {
  const configured = process.env.npm_config_nodedir;
  if (configured) return configured;
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  const version = headerVersion(prefix);
  if (version === process.versions.node) return prefix;
  fail(
    version === undefined
      ? `no Node headers in ${prefix}/include/node; install them with your Node distribution, ` +
          'or point npm at them with `npm config set nodedir <dir>`'
      : `the Node headers in ${prefix}/include/node are for ${version}, this Node is ` +
          `${process.versions.node}; set \`npm config set nodedir <dir>\` to matching headers`,
  );
}

/** npm tells its scripts where its bundled node-gyp is; by hand, look beside npm. */
function findNodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    path.resolve(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules',
      'node-gyp', 'bin', 'node-gyp.js'),
  ];
  for (const candidate of candidates) {
    if (candidate && existsSync(candidate)) return candidate;
  }
  fail('node-gyp not found; run this through npm (npm ci), which bundles it');
}

const nodeDir = findNodeDir();
const nodeGyp = findNodeGyp();
const args = ['rebuild', `--nodedir=${nodeDir}`];
// A configured node_gyp may be an executable rather than a script.
const [command, argv] = /\.[cm]?js$/.test(nodeGyp)
  ? [process.execPath, [nodeGyp, ...args]]
  : [nodeGyp, args];
const result = spawnSync(command, argv, { cwd: root, stdio: 'inherit' });
if (result.error) fail(result.error.message);
process.exit(result.status ?? 1);
