/**
 * The age/SOPS application drill, end to end through the CLI with the real age: an identity
 * made by age-keygen, age files made by `age -r` (binary and `-a` armored, one without the
 * .age name), and SOPS YAML and JSON files. sops itself is not in Debian 12, so the SOPS files
 * are built in test/support/sops-fixture.ts per sops's format: the data key encrypted by the
 * real `age -a -r`, values and MAC AES-256-GCM-encrypted with node:crypto.
 *
 * A source whose files all open with its age_identity passes and says how many it decrypted;
 * a file for another recipient, a SOPS file whose MAC no longer matches and a SOPS file whose
 * data key is for someone else each fail the drill naming the file, and such a snapshot is not
 * tagged verified. Without `age` on PATH the drill fails saying to install it. Nothing secret
 * is printed.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ageEncrypt, ageEncryptArmored, ageKeygen, sopsDocument } from '../support/sops-fixture.ts';
import { assertNoStack, cleanEnv, LIFEBOAT, lifeboat, localRepoConfig, requireTools, resticSnapshots, run, Scratch, show, writeTree } from './harness.ts';

const SECRET_VALUES = { db: { user: 'app', password: 'hunter2-plaintext' }, api_keys: ['key-one-plaintext', 'key-two-plaintext'], debug: false, port: 5432, note_unencrypted: 'rotated yearly' };

describe('age/SOPS drill', () => {
  let s: Scratch;
  let config: string;
  let passwordFile: string;
  let repo: string;
  let identity: string;
  let live: string;

  const verified = async (source: string): Promise<boolean> => (await resticSnapshots(repo, passwordFile, `source:${source}`)).at(-1)?.tags?.includes('verified') ?? false;
  const assertNoSecrets = (text: string): void => {
    assert.doesNotMatch(text, /AGE-SECRET-KEY-1/, 'an identity was printed');
    assert.doesNotMatch(text, /plaintext/, 'a decrypted value was printed');
  };

  before(async () => {
    requireTools('age', 'age-keygen');
    s = await Scratch.create('agedrill');
    await fsp.mkdir(s.path('keys'), { mode: 0o700 });
    identity = s.path('keys', 'host.txt');
    const host = ageKeygen(identity);
    const stranger = ageKeygen(s.path('keys', 'stranger.txt'));
    const sops = (format: 'yaml' | 'json', recipient = host): { key: Buffer; text: string } => {
      const key = randomBytes(32);
      return { key, text: sopsDocument(SECRET_VALUES, { dataKey: key, age: [{ recipient, enc: ageEncryptArmored(recipient, key) }], format }) };
    };
    live = s.path('live');
    await writeTree(path.join(live, 'secrets'), {
      'api-token.age': ageEncrypt(host, Buffer.from('token-plaintext\n')),
      'ssh/id_ed25519.age': ageEncryptArmored(host, Buffer.from('ssh-key-plaintext\n')),
      'restic-passphrase': ageEncrypt(host, Buffer.from('passphrase-plaintext\n')), // an age file by content only
      'app.yaml': sops('yaml').text,
      'db.json': sops('json').text,
      'plain.yaml': 'listen: 0.0.0.0\nworkers: 4\n',
      'README.md': '# secrets of this host\n',
    });
    await writeTree(path.join(live, 'foreign'), {
      'mine.age': ageEncrypt(host, Buffer.from('mine-plaintext\n')),
      'theirs.age': ageEncrypt(stranger, Buffer.from('theirs-plaintext\n')),
    });
    // An unencrypted value changed after encryption: only the MAC can tell.
    const original = sops('yaml').text;
    const tampered = original.replace('rotated yearly', 'rotated monthly');
    assert.notEqual(tampered, original);
    await writeTree(path.join(live, 'tampered'), {
      'app.yaml': tampered,
      'team.json': sops('json', stranger).text,
      'good.yaml': sops('yaml').text,
    });
    await writeTree(path.join(live, 'nokey'), { 'token.age': ageEncrypt(host, Buffer.from('x\n')), 'notes.txt': 'n\n' });

    passwordFile = await s.passwordFile();
    repo = s.path('repo');
    config = s.path('lifeboat.yaml');
    const source = (name: string, extra = ''): string =>
      `  ${name}:\n    paths: [${path.join(live, name)}]\n    priority: critical\n    sensitive: true\n    frequency: daily\n    destinations: [repo]\n${extra}`;
    const withKey = `    age_identity: ${identity}\n`;
    const sources = source('secrets', withKey) + source('foreign', withKey) + source('tampered', withKey) + source('nokey');
    await fsp.writeFile(config, localRepoConfig({ stateDir: s.path('state'), hostname: 'age-host', repo, passwordFile, sources }));
    const enroll = await lifeboat(config, ['drive', 'enroll', 'repo']);
    assert.equal(enroll.code, 0, show(enroll));
    const r = await lifeboat(config, ['run']);
    assert.equal(r.code, 0, show(r));
  });

  after(async () => {
    await s?.cleanup();
  });

  it('without age on PATH the drill fails saying to install it, and tags nothing', async () => {
    // A PATH with what bin/lifeboat itself needs (node, find, dirname) and no age.
    const bin = s.path('bin-without-age');
    await fsp.mkdir(bin);
    await fsp.symlink(process.execPath, path.join(bin, 'node'));
    for (const tool of ['find', 'dirname']) await fsp.symlink(`/usr/bin/${tool}`, path.join(bin, tool));
    const r = await run(LIFEBOAT, ['drill', '--source', 'secrets', '--config', config], cleanEnv({ PATH: bin }));
    assertNoStack(r);
    assert.equal(r.code, 1, show(r));
    assert.match(r.stdout, /^FAILED +secrets -> repo: .*; age: not tested, the age program is missing \(install it: apt-get install age\)$/m);
    assert.match(r.stdout, /^ +damaged: \/.*: not decryption-tested: the age program is missing \(install it: apt-get install age\)$/m);
    assert.equal(await verified('secrets'), false);
  });

  it('a source whose age and SOPS files all open passes, says what it decrypted, and is tagged verified', async () => {
    const r = await lifeboat(config, ['drill', '--source', 'secrets']);
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, /^PASSED +secrets -> repo: snapshot [0-9a-f]{8}, .*; age: 3 files and 2 SOPS files decrypted \(MAC recomputed\)$/m);
    assert.doesNotMatch(r.stdout, /damaged/);
    assertNoSecrets(r.stdout + r.stderr);
    assert.equal(await verified('secrets'), true);
  });

  it('a file encrypted to another recipient fails the drill by name; the snapshot is not verified', async () => {
    const r = await lifeboat(config, ['drill', '--source', 'foreign']);
    assert.equal(r.code, 1, show(r));
    assert.match(r.stdout, /^FAILED +foreign -> repo: .*; age: 1 of 2 files decrypted$/m);
    const damaged = r.stdout.split('\n').filter((l) => /^ +damaged: /.test(l));
    assert.deepEqual(damaged.map((l) => l.trim()), [`damaged: ${path.join(live, 'foreign', 'theirs.age')}: cannot be decrypted with the configured age identity: no identity matched any of the recipients`]);
    assertNoSecrets(r.stdout + r.stderr);
    assert.equal(await verified('foreign'), false);
  });

  it('a SOPS file with a changed value and one whose data key is for someone else fail by name', async () => {
    const r = await lifeboat(config, ['drill', '--source', 'tampered']);
    assert.equal(r.code, 1, show(r));
    assert.match(r.stdout, /^FAILED +tampered -> repo: .*; age: 1 of 3 SOPS files decrypted \(MAC recomputed\)$/m);
    const damaged = r.stdout.split('\n').filter((l) => /^ +damaged: /.test(l)).map((l) => l.trim());
    assert.deepEqual(damaged, [
      `damaged: ${path.join(live, 'tampered', 'app.yaml')}: SOPS file MAC mismatch: the file was changed after sops encrypted it`,
      `damaged: ${path.join(live, 'tampered', 'team.json')}: SOPS data key cannot be decrypted with the configured age identity: no identity matched any of the recipients`,
    ]);
    assertNoSecrets(r.stdout + r.stderr);
    assert.equal(await verified('tampered'), false);
  });

  it('a sensitive source without age_identity passes and says its age files were not decryption-tested', async () => {
    const r = await lifeboat(config, ['drill', '--source', 'nokey']);
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, /^PASSED +nokey -> repo: .*; age: 1 \*\.age file not decryption-tested \(no age_identity\)$/m);
  });

  it('status records the drills: passed where the keys work, failed where they do not', async () => {
    const st = await lifeboat(config, ['status', '--json']);
    const cells = (JSON.parse(st.stdout) as { cells: { source: string; last_drill_ok: boolean | null }[] }).cells;
    assert.deepEqual(
      Object.fromEntries(cells.map((c) => [c.source, c.last_drill_ok])),
      { secrets: true, foreign: false, tampered: false, nokey: true },
    );
  });
});
