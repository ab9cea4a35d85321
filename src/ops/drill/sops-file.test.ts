import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { encValue, sopsDocument, type SopsFixtureOptions } from '../../../test/support/sops-fixture.ts';
import { goRfc3339, readSopsFile, verifySopsFile, type SopsFile } from './sops-file.ts';

const KEY = randomBytes(32);
// verifySopsFile never looks at the age stanza; the drill decrypts it with the real age.
const AGE = [{ recipient: 'age1example', enc: '-----BEGIN AGE ENCRYPTED FILE-----\n...\n-----END AGE ENCRYPTED FILE-----\n' }];
const opts = (o: Partial<SopsFixtureOptions> = {}): SopsFixtureOptions => ({ dataKey: KEY, age: AGE, format: 'yaml', ...o });

const TREE = {
  db: { user: 'app', password: 'hunter2', port: 5432 },
  api_keys: ['k-1', 'k-2'],
  enabled: true,
  empty: '',
  note_unencrypted: 'kept in clear',
  port_unencrypted: 8080,
};

function read(text: string): SopsFile {
  const r = readSopsFile(text);
  assert.equal(r.kind, 'sops', JSON.stringify(r));
  return (r as { file: SopsFile }).file;
}

describe('readSopsFile', () => {
  it('reads the age recipients and visits values in file order with their key paths', () => {
    const f = read(sopsDocument(TREE, opts()));
    assert.deepEqual(f.ageKeys, AGE);
    assert.equal(f.keyGroups, 1);
    assert.deepEqual(
      f.leaves.map((l) => `${l.kind} ${l.path.join(':')}`),
      ['encrypted db:user', 'encrypted db:password', 'encrypted db:port', 'encrypted api_keys', 'encrypted api_keys', 'encrypted enabled', 'encrypted empty', 'plain note_unencrypted', 'plain port_unencrypted'],
    );
  });

  it('is not a SOPS file: plain YAML, a sops map without age recipients, text that is not YAML', () => {
    assert.equal(readSopsFile('a: 1\nb: [2, 3]\n').kind, 'not-sops');
    assert.equal(readSopsFile('a: ENC[AES256_GCM,data:AA==,iv:AA==,tag:AA==,type:str]\nsops:\n  pgp: [{fp: ABC, enc: x}]\n  mac: x\n').kind, 'not-sops');
    assert.equal(readSopsFile('\u0000\u0001 binary: [').kind, 'not-sops');
  });

  it('calls a file malformed when it has sops metadata sops itself could not read', () => {
    const broken = sopsDocument(TREE, opts()).replace('enabled:', 'enabled: [');
    assert.deepEqual(readSopsFile(broken), { kind: 'malformed', problem: 'looks like a SOPS file but is not valid YAML or JSON' });
    const intKey = sopsDocument(TREE, opts()).replace(/^enabled:/m, '7:');
    const r = readSopsFile(intKey);
    assert.equal(r.kind, 'malformed');
    assert.match((r as { problem: string }).problem, /not a string/);
  });

  it('collects age keys of key groups as well', () => {
    const text = sopsDocument(TREE, opts({ age: [] })).replace(/^ {4}age: \[\]\n/m, `    key_groups:\n        - age:\n            - recipient: age1a\n              enc: A\n        - age:\n            - recipient: age1b\n              enc: B\n`);
    const f = read(text);
    assert.deepEqual(f.ageKeys.map((k) => k.recipient), ['age1a', 'age1b']);
    assert.equal(f.keyGroups, 2);
  });
});

describe('verifySopsFile', () => {
  it('decrypts every value and the MAC, and recomputes the MAC (YAML and JSON)', () => {
    for (const format of ['yaml', 'json'] as const) {
      assert.deepEqual(verifySopsFile(read(sopsDocument(TREE, opts({ format }))), KEY), { ok: true, macRecomputed: true }, format);
    }
  });

  it('keeps the file order of keys that JavaScript objects would reorder', () => {
    // JSON.parse would put "10" before "b"; sops hashes in file order.
    const lm = '2026-01-02T03:04:05Z';
    const mac = createHash('sha512').update('B').update('TEN').digest('hex').toUpperCase();
    const text = `{"b": "${encValue(Buffer.from('B'), KEY, 'b:', 'str')}", "10": "${encValue(Buffer.from('TEN'), KEY, '10:', 'str')}",
      "sops": {"age": [{"recipient": "r", "enc": "e"}], "lastmodified": "${lm}", "mac": "${encValue(Buffer.from(mac), KEY, lm, 'str')}"}}`;
    assert.deepEqual(verifySopsFile(read(text), KEY), { ok: true, macRecomputed: true });
  });

  it('finds a changed unencrypted value by the MAC', () => {
    const text = sopsDocument(TREE, opts()).replace('kept in clear', 'changed in clear');
    assert.deepEqual(verifySopsFile(read(text), KEY), { ok: false, problem: 'MAC mismatch: the file was changed after sops encrypted it' });
  });

  it('finds an encrypted value moved to another key', () => {
    const text = sopsDocument(TREE, opts());
    const user = /^ {4}user: (.*)$/m.exec(text)![1]!;
    const password = /^ {4}password: (.*)$/m.exec(text)![1]!;
    const swapped = text.replace(`user: ${user}`, `user: ${password}`).replace(`password: ${password}`, `password: ${user}`);
    const v = verifySopsFile(read(swapped), KEY);
    assert.equal(v.ok, false);
    assert.match((v as { problem: string }).problem, /^the value at db:user does not decrypt with the data key \(AES-GCM authentication failed\): it was changed or moved$/);
  });

  it('fails on the MAC with another data key, or when lastmodified was changed', () => {
    const text = sopsDocument(TREE, opts());
    const other = verifySopsFile(read(text), randomBytes(32));
    assert.match((other as { problem: string }).problem, /^the MAC does not decrypt with the data key/);
    const touched = verifySopsFile(read(text.replace('2026-01-02T03:04:05Z', '2026-01-02T03:04:06Z')), KEY);
    assert.match((touched as { problem: string }).problem, /^the MAC does not decrypt .*sops\.lastmodified was changed/);
  });

  it('refuses a file without a MAC, as sops does', () => {
    const text = sopsDocument(TREE, opts()).replace(/^ {4}mac: .*$/m, "    mac: ''");
    assert.deepEqual(verifySopsFile(read(text), KEY), { ok: false, problem: 'has no MAC (sops refuses to decrypt it)' });
  });

  it('with mac_only_encrypted hashes only the encrypted values', () => {
    const text = sopsDocument(TREE, opts({ macOnlyEncrypted: true }));
    assert.deepEqual(verifySopsFile(read(text), KEY), { ok: true, macRecomputed: true });
    // A plain value is outside the MAC then: changing it goes unnoticed, as with sops.
    assert.deepEqual(verifySopsFile(read(text.replace('kept in clear', 'changed')), KEY), { ok: true, macRecomputed: true });
  });

  it('does not judge the MAC over unencrypted values Go may read differently, but still decrypts the rest', () => {
    const text = sopsDocument({ ...TREE, ratio_unencrypted: 0.5 }, opts());
    assert.deepEqual(verifySopsFile(read(text), KEY), { ok: true, macRecomputed: false });
    const bad = verifySopsFile(read(text), randomBytes(32));
    assert.equal(bad.ok, false);
  });

  it('walks every document of a multi-document YAML file, metadata in the first', () => {
    const lm = '2026-01-02T03:04:05Z';
    const mac = createHash('sha512').update('one').update('two').digest('hex').toUpperCase();
    const text = `a: ${encValue(Buffer.from('one'), KEY, 'a:', 'str')}\nsops:\n  age: [{recipient: r, enc: e}]\n  lastmodified: '${lm}'\n  mac: ${encValue(Buffer.from(mac), KEY, lm, 'str')}\n---\nb: ${encValue(Buffer.from('two'), KEY, 'b:', 'str')}\n`;
    assert.deepEqual(verifySopsFile(read(text), KEY), { ok: true, macRecomputed: true });
  });
});

describe('goRfc3339', () => {
  it('gives lastmodified back as Go formats it: no fraction, Z for a zero offset', () => {
    assert.equal(goRfc3339('2026-01-02T03:04:05Z'), '2026-01-02T03:04:05Z');
    assert.equal(goRfc3339('2026-01-02T03:04:05.123456Z'), '2026-01-02T03:04:05Z');
    assert.equal(goRfc3339('2026-01-02T03:04:05+00:00'), '2026-01-02T03:04:05Z');
    assert.equal(goRfc3339('2026-01-02T03:04:05+02:00'), '2026-01-02T03:04:05+02:00');
  });
});
