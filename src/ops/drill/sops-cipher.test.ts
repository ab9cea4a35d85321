import assert from 'node:assert/strict';
import { createCipheriv } from 'node:crypto';
import { describe, it } from 'node:test';
import { decryptEncValue, looksEncrypted, parseEncValue, SopsValueError } from './sops-cipher.ts';

const KEY = Buffer.alloc(32, 7);
const IV = Buffer.alloc(32, 9);

/** An ENC[] string made with node:crypto directly, as sops's Encrypt lays it out. */
function enc(plain: string, aad: string, type = 'str', key = KEY): string {
  const c = createCipheriv('aes-256-gcm', key, IV);
  c.setAAD(Buffer.from(aad));
  const data = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
  return `ENC[AES256_GCM,data:${data.toString('base64')},iv:${IV.toString('base64')},tag:${c.getAuthTag().toString('base64')},type:${type}]`;
}

const code = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof SopsValueError, String(e));
    return e.code;
  }
  return 'no error';
};

describe('parseEncValue', () => {
  it('splits data, a 32-byte iv, a 16-byte tag and the type', () => {
    const v = parseEncValue(enc('hunter2', 'db:password:'));
    assert.equal(v.data.length, 7);
    assert.equal(v.iv.length, 32);
    assert.deepEqual(v.iv, IV);
    assert.equal(v.tag.length, 16);
    assert.equal(v.type, 'str');
  });

  it('refuses what is not an ENC value, or holds base64 that Go would refuse', () => {
    assert.equal(looksEncrypted('plain text'), false);
    assert.equal(code(() => parseEncValue('plain text')), 'NOT_ENCRYPTED');
    assert.equal(code(() => parseEncValue('ENC[AES256_GCM,data:abc,iv:AAAA,tag:AAAA,type:str]')), 'BAD_FORMAT');
    assert.equal(code(() => parseEncValue('ENC[AES256_GCM,data:AA==,iv:A$AA,tag:AAAA,type:str]')), 'BAD_FORMAT');
  });
});

describe('decryptEncValue', () => {
  it('returns the plaintext bytes with the right key and additional data', () => {
    assert.equal(decryptEncValue(parseEncValue(enc('hunter2', 'db:password:')), KEY, 'db:password:').toString(), 'hunter2');
    assert.equal(decryptEncValue(parseEncValue(enc('True', 'flags:', 'bool')), KEY, 'flags:').toString(), 'True');
  });

  it('fails authentication with another key, another path, or a changed byte', () => {
    const v = enc('hunter2', 'db:password:');
    assert.equal(code(() => decryptEncValue(parseEncValue(v), Buffer.alloc(32, 8), 'db:password:')), 'AUTHENTICATION');
    assert.equal(code(() => decryptEncValue(parseEncValue(v), KEY, 'db:user:')), 'AUTHENTICATION');
    const parts = parseEncValue(v);
    const flipped = { ...parts, data: Buffer.from(parts.data.map((b, i) => (i === 0 ? b ^ 1 : b))) };
    assert.equal(code(() => decryptEncValue(flipped, KEY, 'db:password:')), 'AUTHENTICATION');
  });

  it('refuses a key that is not 32 bytes and a type sops does not know', () => {
    assert.equal(code(() => decryptEncValue(parseEncValue(enc('x', 'a:')), Buffer.alloc(16), 'a:')), 'BAD_KEY');
    assert.equal(code(() => decryptEncValue(parseEncValue(enc('x', 'a:', 'blob')), KEY, 'a:')), 'BAD_FORMAT');
  });
});
