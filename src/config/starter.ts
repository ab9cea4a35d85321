/**
 * A commented starter lifeboat.yaml, modelled on the Phase 1 coverage map: the usual data of a
 * self-hosted server, a USB drive and a NAS as the two independent destinations, and a plain
 * USB mirror for the Samba share.
 *
 * Only sources whose paths exist on this machine are active; the others are written commented
 * out, so the file documents the whole map and stays valid. Existence comes from the caller
 * (a probe function or a list of looked-up paths), so this stays pure. The result parses with
 * zero problems (starter.test.ts holds it to that). It is text for the operator to write; the
 * tool never writes or rewrites the config itself.
 */

export interface FoundPath {
  readonly path: string;
  readonly exists: boolean;
}

/** Paths the starter asks about, so a caller can look them up ahead of time. */
export const STARTER_PROBES: readonly string[] = [
  '/etc/nixos',
  '/etc/nixos/backup_excludes.txt',
  '/srv/business/receipts',
  '/var/lib/postgresql',
  '/etc/sops',
  '/srv/share',
  '/mnt/media',
  '/mnt/hot/surveillance',
  '/mnt/scripts',
];

interface Entry {
  readonly name: string;
  /** The path whose existence turns the entry on. */
  readonly probe: string;
  readonly comment: string;
  readonly body: readonly string[];
}

const TWO = 'destinations: [usb-media, nas]';

function sourceEntries(exists: (path: string) => boolean): Entry[] {
  const excludes = '/etc/nixos/backup_excludes.txt';
  return [
    {
      name: 'nixos-config',
      probe: '/etc/nixos',
      comment: 'NixOS configuration: small, precious, changes often.',
      body: [
        'paths: [/etc/nixos]',
        'priority: high',
        'frequency: daily',
        TWO,
        // Inside an entry that is commented out anyway, the line needs no note of its own.
        exists(excludes) || !exists('/etc/nixos') ? `exclude_from: ${excludes}` : `# exclude_from: ${excludes}   # not found; create it to use it`,
      ],
    },
    {
      name: 'receipts',
      probe: '/srv/business/receipts',
      comment: 'Receipts and business records.',
      body: ['paths: [/srv/business/receipts]', 'priority: high', 'frequency: daily', TWO],
    },
    {
      name: 'postgres',
      probe: '/var/lib/postgresql',
      comment: 'All PostgreSQL databases as one SQL file. The dump runs as the postgres user (as root it would connect as a role "root" that does not exist); a string command runs via /bin/sh -c, a list runs without a shell.',
      body: ['command: [runuser, -u, postgres, --, pg_dumpall, --clean]', 'filename: postgres.sql', 'priority: high', 'frequency: daily', 'destinations: [nas, usb-media]'],
    },
    {
      name: 'secrets',
      probe: '/etc/sops',
      comment: 'SOPS/age secrets: critical, and only ever stored encrypted (never on a mirror).',
      body: ['paths: [/etc/sops]', 'priority: critical', 'sensitive: true', 'frequency: daily', TWO, '# age_identity: /var/lib/sops-nix/key.txt   # drills then prove this key decrypts them'],
    },
    {
      name: 'samba-share',
      probe: '/srv/share',
      comment: 'The Samba share, also mirrored as plain files for Windows and Mac users. min_files refuses to back up an empty share.',
      body: ['paths: [/srv/share]', 'must_be_mountpoint: false', 'min_files: 1', 'priority: medium', 'frequency: weekly', 'destinations: [usb-share, nas]'],
    },
    {
      name: 'media',
      probe: '/mnt/media',
      comment: 'Movies, TV and music. Large and slow to change: weekly. An unmounted media disk would look empty: min_files guards against it.',
      body: ['paths: [/mnt/media]', 'exclude: [/mnt/media/tmp]', 'min_files: 1', 'priority: high', 'frequency: weekly', TWO],
    },
    {
      name: 'surveillance',
      probe: '/mnt/hot/surveillance',
      comment: 'Surveillance recordings.',
      body: ['paths: [/mnt/hot/surveillance]', 'exclude: [/mnt/hot/surveillance/tmp]', 'priority: high', 'frequency: daily', TWO],
    },
    {
      name: 'scripts',
      probe: '/mnt/scripts',
      comment: 'Operator scripts.',
      body: ['paths: [/mnt/scripts]', 'priority: high', 'frequency: weekly', TWO],
    },
  ];
}

const HEADER = `# lifeboat configuration: what to back up (sources) and where the copies go (destinations).
#
# A starter made from the coverage map. Sources whose paths were not found on this machine are
# commented out; uncomment and adapt them. Check the file with \`lifeboat config check\`;
# \`lifeboat config schema\` prints a JSON Schema for editors. lifeboat only reads this file.
#
# Names (of sources and destinations) use lowercase letters, digits, - and _.
# priority:  critical | high | medium | low. Critical and high sources should reach two
#            destinations on different devices.
# frequency: hourly | daily | weekly | monthly | manual, or a systemd OnCalendar expression
#            such as "Mon *-*-* 03:00", "Sat,Sun 04:00" or "*:0/15".
# Durations (stale_after, keep_within): 36h, 7d, 2w, 6m, 1y6m.
`;

const DESTINATIONS = (share: boolean): string => `
destinations:
  # A USB drive found by its filesystem label (e2label /dev/sdX1 BU-2025-MEDIA). The repository
  # lives in <mountpoint>/lifeboat and is encrypted with the password in password_file.
  usb-media:
    kind: usb
    label: BU-2025-MEDIA
    mountpoint: /mnt/usb-backup
    format: repository
    password_file: /run/secrets/lifeboat-usb
    retention:
      keep_daily: 7
      keep_weekly: 4
      keep_monthly: 12
    stale_after: 2w

  # The NAS share, mounted at /mnt/backup-nas (fstab or a systemd automount).
  nas:
    kind: nas
    path: /mnt/backup-nas/lifeboat
    format: repository
    password_file: /run/secrets/lifeboat-nas
    retention:
      keep_daily: 14
      keep_weekly: 8
      keep_monthly: 24
    stale_after: 3d
${block(
  share,
  `
  # A second USB drive holding a plain, browsable copy of the share (unencrypted: no secrets).
  usb-share:
    kind: usb
    label: BU-2025-SHARE
    format: mirror
`,
  '(only used by samba-share)',
)}`;

/**
 * The starter YAML. `found` says which paths exist: a probe function, or the STARTER_PROBES
 * looked up ahead of time (a path missing from the list counts as absent).
 */
export function starterConfig(found: readonly FoundPath[] | ((path: string) => boolean)): string {
  const exists =
    typeof found === 'function'
      ? found
      : (path: string): boolean => found.some((f) => f.path === path && f.exists);
  const entries = sourceEntries(exists);
  const active = entries.filter((e) => exists(e.probe));
  const share = active.some((e) => e.name === 'samba-share');
  const sources = entries
    .map((e) => block(exists(e.probe), [...wrap(e.comment, '  # '), `  ${e.name}:`, ...e.body.map((l) => `    ${l}`)].join('\n') + '\n', `(${e.probe} not found)`))
    .join('\n');
  const head = active.length === 0 ? 'sources: {}   # none of the usual places exist here; uncomment what applies\n' : 'sources:\n';
  return `${HEADER}${DESTINATIONS(share)}\n${head}${sources}`;
}

/** The text as is when `on`, else every line commented out, with a note why. */
function block(on: boolean, text: string, why: string): string {
  if (on) return text;
  const lines = text.split('\n');
  const out = lines.map((line) => {
    if (line.trim() === '') return line;
    if (line.trimStart().startsWith('#')) return line;
    const indent = line.length - line.trimStart().length;
    return `${' '.repeat(Math.min(indent, 2))}# ${line.slice(Math.min(indent, 2))}`;
  });
  const firstEntry = out.findIndex((l) => /^\s*# \S+:$/.test(l));
  if (firstEntry >= 0) out[firstEntry] = `${out[firstEntry] ?? ''}   ${why}`;
  return out.join('\n');
}

/** Comment text wrapped to lines of at most about 96 characters. */
function wrap(text: string, prefix: string): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && prefix.length + line.length + 1 + word.length > 96) {
      lines.push(prefix + line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(prefix + line);
  return lines;
}
