/** Finds and loads the coverage map for a command: --config F, else LIFEBOAT_CONFIG, else the default. */
import { existsSync, promises as fsp } from 'node:fs';
import { LifeboatError } from '../core/errors.ts';
import { DEFAULT_CONFIG_PATH, DEFAULT_STATE_DIR, loadConfigOrThrow, statPath, type Config } from '../config/index.ts';

export function configPath(v: string | undefined, env: NodeJS.ProcessEnv): string {
  return v ?? env.LIFEBOAT_CONFIG ?? DEFAULT_CONFIG_PATH;
}

export function configFileDeps(env: NodeJS.ProcessEnv) {
  return { readFile: (p: string) => fsp.readFile(p, 'utf8'), exists: (p: string) => existsSync(p), stat: statPath, env: env as Record<string, string | undefined> };
}

export async function loadCoverageConfig(v: string | undefined, env: NodeJS.ProcessEnv): Promise<Config> {
  const file = configPath(v, env);
  if (!existsSync(file)) throw new LifeboatError('BAD_CONFIG', `Cannot read config ${file}: it does not exist`, { hint: 'write one with `lifeboat init > lifeboat.yaml`, or pass --config F' });
  const { config } = await loadConfigOrThrow(file, configFileDeps(env));
  // The config's explicit state_dir wins; LIFEBOAT_STATE_DIR replaces only the default.
  const stateDir = config.state_dir === DEFAULT_STATE_DIR && env.LIFEBOAT_STATE_DIR ? env.LIFEBOAT_STATE_DIR : config.state_dir;
  return { ...config, state_dir: stateDir };
}
