import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LifeboatError } from '../errors.ts';
import { readExcludeFile } from './exclude-file.ts';

describe('readExcludeFile', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lifeboat-exclude-file-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads the architecture note backup_excludes.txt as written', async () => {
    const file = join(dir, 'backup_excludes.txt');
    await writeFile(file, '*.tmp\n*.bak\n/mnt/media/tmp/\n*/.cache/\n/mnt/hot/downloads/incomplete/\n/mnt/hot/surveillance/tmp/\n');
    assert.deepEqual(await readExcludeFile(file, {}), [
      '*.tmp',
      '*.bak',
      '/mnt/media/tmp/',
      '*/.cache/',
      '/mnt/hot/downloads/incomplete/',
      '/mnt/hot/surveillance/tmp/',
    ]);
  });

  it('trims, skips blanks and # lines, handles CRLF, and expands the environment', async () => {
    const file = join(dir, 'mixed.txt');
    const text = '# comment\r\n\r\n   *.log  \r\n\t# indented comment\n$HOME/.cache\n${HOME}/x$$y\nnot # a comment\n$UNSET\n\u00a0*.iso\u3000\nlast';
    await writeFile(file, text);
    assert.deepEqual(await readExcludeFile(file, { HOME: '/home/al' }), [
      '*.log',
      '/home/al/.cache',
      '/home/al/x$y',
      'not # a comment',
      '*.iso',
      'last',
    ]);
  });

  it('drops a UTF-8 byte order mark and decodes UTF-16 with one', async () => {
    const utf8 = join(dir, 'bom8.txt');
    await writeFile(utf8, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('*.tmp\n')]));
    assert.deepEqual(await readExcludeFile(utf8, {}), ['*.tmp']);
    const le = join(dir, 'bom16le.txt');
    await writeFile(le, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('*.tmp\r\ncafé\r\n', 'utf16le')]));
    assert.deepEqual(await readExcludeFile(le, {}), ['*.tmp', 'café']);
    const be = join(dir, 'bom16be.txt');
    await writeFile(be, Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from('*.bak\n', 'utf16le').swap16()]));
    assert.deepEqual(await readExcludeFile(be, {}), ['*.bak']);
  });

  it('names the file and line of every invalid pattern', async () => {
    const file = join(dir, 'bad.txt');
    await writeFile(file, '*.tmp\n# fine\n/srv/[abc\n\\[ok\\]\n$PAT\n');
    await assert.rejects(readExcludeFile(file, { PAT: 'x[' }), (err: unknown) => {
      assert.ok(err instanceof LifeboatError);
      assert.equal(err.code, 'USAGE');
      assert.match(err.message, /bad\.txt:3: invalid pattern "\/srv\/\[abc": unclosed character class/);
      assert.match(err.message, /bad\.txt:5: invalid pattern "\$PAT" \(expanded to "x\["\)/);
      assert.doesNotMatch(err.message, /:4:/);
      return true;
    });
  });

  it('fails with NOT_FOUND for a missing file', async () => {
    await assert.rejects(readExcludeFile(join(dir, 'missing.txt'), {}), { code: 'NOT_FOUND' });
  });
});
