import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { dumpFormat } from './dump-format.ts';

describe('dumpFormat', () => {
  const dir = fsp.mkdtemp(path.join(tmpdir(), 'lifeboat-dump-format-'));
  after(async () => fsp.rm(await dir, { recursive: true, force: true }));
  const file = async (name: string, content: string | Buffer): Promise<string> => {
    const p = path.join(await dir, name);
    await fsp.writeFile(p, content);
    return p;
  };

  it('a PGDMP archive is custom whatever its name; a *.sql file or a pg_dump header is plain; another database\'s dump or anything else is no dump', async () => {
    assert.equal(await dumpFormat(await file('nightly.sql', Buffer.concat([Buffer.from('PGDMP'), Buffer.from([1, 14, 0])])), 'nightly.sql'), 'custom');
    assert.equal(await dumpFormat(await file('a.sql', 'garbage'), 'a.sql'), 'plain');
    assert.equal(await dumpFormat(await file('a.dump', '--\n-- PostgreSQL database dump\n--\n'), 'a.dump'), 'plain');
    assert.equal(await dumpFormat(await file('all.out', '--\n-- PostgreSQL database cluster dump\n--\n'), ''), 'plain');
    assert.equal(await dumpFormat(await file('b.dump', 'MySQL dump 10.13'), 'b.dump'), undefined);
    assert.equal(await dumpFormat(await file('shop-mysql.sql', '-- MySQL dump 10.13  Distrib 8.0\n'), 'shop-mysql.sql'), undefined);
    assert.equal(await dumpFormat(await file('app-sqlite.sql', 'PRAGMA foreign_keys=OFF;\nBEGIN TRANSACTION;\n'), 'app-sqlite.sql'), undefined);
    assert.equal(await dumpFormat(await file('empty.backup', ''), 'empty.backup'), undefined);
  });
});
