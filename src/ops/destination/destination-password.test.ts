import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LifeboatError } from '../../core/errors.ts';
import { destinationPassword } from './destination-password.ts';

describe('destinationPassword from a password_file', () => {
  let dir: string;
  before(async () => {
    dir = await fsp.mkdtemp(path.join(tmpdir(), 'lifeboat-password-'));
    await fsp.writeFile(path.join(dir, 'good'), 'correct horse\n', { mode: 0o600 });
    await fsp.writeFile(path.join(dir, 'empty'), '\n', { mode: 0o600 });
  });
  after(async () => {
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('reads the password, one trailing newline dropped', async () => {
    assert.equal(await destinationPassword({ name: 'nas', passwordFile: path.join(dir, 'good') }), 'correct horse');
  });

  it('a missing file is NO_PASSWORD saying so in words, with a hint, never a raw ENOENT', async () => {
    const file = path.join(dir, 'missing');
    await assert.rejects(destinationPassword({ name: 'nas', passwordFile: file }), (e: unknown) => {
      assert.ok(e instanceof LifeboatError);
      assert.equal(e.code, 'NO_PASSWORD');
      assert.equal(e.message, `Cannot read the password of destination nas from ${file}: the file does not exist`);
      assert.doesNotMatch(e.message, /ENOENT/);
      assert.match(e.hint ?? '', /put the repository password in that file/);
      return true;
    });
  });

  it('a directory or an empty file is named as such', async () => {
    await assert.rejects(destinationPassword({ name: 'nas', passwordFile: dir }), /: it is a directory, not a file$/);
    await assert.rejects(destinationPassword({ name: 'nas', passwordFile: path.join(dir, 'empty') }), /: the file is empty$/);
  });
});
