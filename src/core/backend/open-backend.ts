/**
 * From a location string to a Backend, through a registry of factories by scheme. Local
 * directories are built in; the remote schemes are known to the parser (location.ts) and
 * answer "not built yet" until their factory is registered, so an operator who types an
 * `sftp:` location gets the truth, not a directory named "sftp:host:". Remote backends are
 * wrapped in a connection limit and retries of transient failures, as restic wraps them; the
 * local one is not (its failures are not transient, and its speed is the benchmark's).
 */
import { LifeboatError } from '../errors.ts';
import type { Backend } from './backend.ts';
import { LimitBackend } from './limit-backend.ts';
import { LocalBackend } from './local-backend.ts';
import { parseLocation, type Location, type Scheme } from './location.ts';
import { RetryBackend, type RetryOptions } from './retry-backend.ts';

export type BackendFactory<S extends Scheme = Scheme> = (location: Extract<Location, { scheme: S }>) => Backend;

export type BackendRegistry = { readonly [S in Scheme]?: BackendFactory<S> };

/** What this build can open. */
export const DEFAULT_BACKENDS: BackendRegistry = {
  local: (l) => new LocalBackend(l.path),
};

export interface OpenBackendOptions {
  readonly backends?: BackendRegistry;
  /** For remote backends (default 5 connections, restic's default for most). */
  readonly connections?: number;
  readonly retry?: RetryOptions;
}

export function openBackend(location: string | Location, opts: OpenBackendOptions = {}): Backend {
  const loc = typeof location === 'string' ? parseLocation(location) : location;
  const factory = (opts.backends ?? DEFAULT_BACKENDS)[loc.scheme] as BackendFactory | undefined;
  if (!factory) {
    throw new LifeboatError('BACKEND', `Cannot open repository ${loc.display}: the ${loc.scheme} backend is not built yet`, {
      hint: 'use a local path or a mounted share (kind: usb, nas or local); SFTP and S3 are planned',
    });
  }
  const backend = factory(loc);
  if (loc.scheme === 'local') return backend;
  return new RetryBackend(new LimitBackend(backend, opts.connections ?? 5), opts.retry);
}
