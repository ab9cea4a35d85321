import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LifeboatError } from '../../core/errors.ts';
import { parseConfigText, type Config } from '../../config/index.ts';
import { selectCells, unavailable } from './run-coverage.ts';

const deps = { readFile: async (): Promise<string> => '', exists: (): boolean => true, env: {} };

async function config(): Promise<Config> {
  const r = await parseConfigText(
    `destinations:
  usb:
    kind: usb
    label: BU-2025-CONFIG
    mountpoint: /mnt/usb
    password_file: /run/secrets/pw
  nas:
    kind: nas
    path: /mnt/nas/lifeboat
    password_file: /run/secrets/pw
  disk:
    kind: local
    path: /srv/backup/lifeboat
    password_file: /run/secrets/pw
sources:
  receipts:
    paths: [/srv/receipts]
    priority: low
    frequency: daily
    destinations: [usb, nas, disk]
`,
    'c.yaml',
    deps,
  );
  assert.deepEqual(r.problems, []);
  return r.config;
}

test('unavailable: an away drive is absent, an unmounted share or a missing local disk fails; all DEVICE_UNAVAILABLE', async () => {
  const c = await config();
  const dest = (n: string) => c.destinations.find((d) => d.name === n)!;
  const notMounted = { state: 'not-mounted', why: 'x is not a mount point' } as const;
  assert.deepEqual(unavailable(dest('usb'), { state: 'absent', why: 'BU-2025-CONFIG is not plugged in' }), { outcome: 'absent', code: 'DEVICE_UNAVAILABLE', message: 'BU-2025-CONFIG is not plugged in' });
  assert.equal(unavailable(dest('usb'), notMounted).outcome, 'absent');
  assert.equal(unavailable(dest('usb'), { state: 'wrong-drive', why: 'another drive', found: {} }).outcome, 'failed', 'a wrong drive is here, and refused');
  const nas = unavailable(dest('nas'), notMounted);
  assert.deepEqual([nas.outcome, nas.code], ['failed', 'DEVICE_UNAVAILABLE']);
  assert.match(nas.hint!, /^mount the share that holds \/mnt\/nas\/lifeboat, then run again$/);
  assert.equal(unavailable(dest('disk'), { state: 'absent', why: '/srv/backup does not exist' }).outcome, 'failed');
});

test('selectCells names the nearest source or destination for a typo, and lists them in the hint', async () => {
  const c = await config();
  assert.throws(() => selectCells(c, { source: 'recipts' }), (e: unknown) => e instanceof LifeboatError && e.code === 'USAGE' && e.message === 'No source named recipts in c.yaml: did you mean receipts?' && e.hint === 'the sources there: receipts');
  assert.throws(() => selectCells(c, { destination: 'nsa' }), /No destination named nsa in c.yaml: did you mean nas\?/);
  assert.throws(() => selectCells(c, { destination: 'elsewhere' }), (e: unknown) => e instanceof LifeboatError && e.message === 'No destination named elsewhere in c.yaml');
  assert.equal(selectCells(c, { source: 'receipts' }).length, 3);
});
