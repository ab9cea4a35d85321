/**
 * Repository locations as restic writes them (`-r`, RESTIC_REPOSITORY; restic's
 * internal/backend/location): a path or `local:PATH`, `sftp:[USER@]HOST:PATH` or
 * `sftp://[USER@]HOST[:PORT]//PATH`, `rest:URL`, `s3:[URL|HOST]/BUCKET[/PREFIX]`, and the
 * `b2:`, `azure:`, `gs:`, `swift:`, `rclone:` forms. As in restic, a string with no known
 * scheme is a local path (so `./repo` and `/mnt/usb/repo` need none).
 *
 * A location may carry a password (`rest:https://user:secret@host/`): `display` is the form
 * for messages, with any password replaced by `***`.
 */
import { LifeboatError } from '../errors.ts';

export type Location =
  | { readonly scheme: 'local'; readonly path: string; readonly display: string }
  | { readonly scheme: 'sftp'; readonly user?: string | undefined; readonly host: string; readonly port?: number | undefined; readonly path: string; readonly display: string }
  | { readonly scheme: 'rest'; readonly url: string; readonly display: string }
  | { readonly scheme: 's3'; readonly endpoint: string; readonly bucket: string; readonly prefix: string; readonly display: string }
  | { readonly scheme: 'b2' | 'azure' | 'gs' | 'swift' | 'rclone'; readonly rest: string; readonly display: string };

export type Scheme = Location['scheme'];

const OTHER = ['b2', 'azure', 'gs', 'swift', 'rclone'] as const;

function bad(location: string, why: string, hint: string): LifeboatError {
  return new LifeboatError('USAGE', `Invalid repository location ${JSON.stringify(redact(location))}: ${why}`, { hint });
}

/** `location` with the password of any URL in it replaced by `***`. */
export function redact(location: string): string {
  return location.replace(/(\/\/[^/@:]*:)[^/@]*@/, '$1***@');
}

export function parseLocation(location: string): Location {
  if (location === '') throw bad(location, 'it is empty', 'give a path such as /mnt/usb/lifeboat');
  const display = redact(location);
  const colon = location.indexOf(':');
  const scheme = colon > 0 ? location.slice(0, colon) : '';
  const rest = location.slice(colon + 1);
  switch (scheme) {
    case 'local':
      if (rest === '') throw bad(location, 'local: needs a path', 'e.g. local:/mnt/usb/lifeboat');
      return { scheme: 'local', path: rest, display };
    case 'sftp':
      return parseSftp(location, rest, display);
    case 'rest': {
      if (!/^https?:\/\/[^/]/.test(rest)) throw bad(location, 'rest: needs an http:// or https:// URL', 'e.g. rest:https://backup.example.org:8000/lifeboat');
      return { scheme: 'rest', url: rest, display };
    }
    case 's3':
      return parseS3(location, rest, display);
    default:
      if ((OTHER as readonly string[]).includes(scheme)) {
        if (rest === '') throw bad(location, `${scheme}: needs a bucket or remote`, `see restic's documentation for the ${scheme}: form`);
        return { scheme: scheme as (typeof OTHER)[number], rest, display };
      }
      // As restic: no known scheme, so a local path ("C:"-style names have no meaning here).
      return { scheme: 'local', path: location, display };
  }
}

function parseSftp(location: string, rest: string, display: string): Location {
  if (rest.startsWith('//')) {
    // sftp://[user@]host[:port]//path (the path after the first '/' is taken as given)
    const m = /^\/\/(?:([^@/]+)@)?([^:/]+)(?::(\d+))?\/(.+)$/.exec(rest);
    if (!m) throw bad(location, 'expected sftp://[USER@]HOST[:PORT]//PATH', 'e.g. sftp://backup@nas.local:2222//srv/lifeboat');
    const port = m[3] === undefined ? undefined : Number(m[3]);
    if (port !== undefined && (port < 1 || port > 65535)) throw bad(location, `port ${m[3]} is out of range`, 'use a port from 1 to 65535');
    return { scheme: 'sftp', user: m[1], host: m[2]!, port, path: m[4]!, display };
  }
  const m = /^(?:([^@:/]+)@)?([^:/]+):(.+)$/.exec(rest);
  if (!m) throw bad(location, 'expected sftp:[USER@]HOST:PATH', 'e.g. sftp:backup@nas.local:/srv/lifeboat');
  return { scheme: 'sftp', user: m[1], host: m[2]!, path: m[3]!, display };
}

function parseS3(location: string, rest: string, display: string): Location {
  // s3:https://host[:port]/bucket[/prefix], or s3:host/bucket[/prefix] (https implied, as restic).
  const url = /^(https?:\/\/[^/]+)\/(.*)$/.exec(rest);
  const endpoint = url ? url[1]! : rest.slice(0, Math.max(0, rest.indexOf('/')));
  const tail = url ? url[2]! : rest.slice(rest.indexOf('/') + 1);
  if (!endpoint || rest.indexOf('/') < 0) throw bad(location, 'expected s3:HOST/BUCKET[/PREFIX]', 'e.g. s3:s3.amazonaws.com/my-bucket/lifeboat');
  const [bucket, ...prefix] = tail.split('/').filter((p) => p !== '');
  if (!bucket) throw bad(location, 'the bucket name is missing', 'e.g. s3:s3.amazonaws.com/my-bucket/lifeboat');
  return { scheme: 's3', endpoint: url ? endpoint : `https://${endpoint}`, bucket, prefix: prefix.join('/'), display };
}
