import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { findMissingPath, missingPathError, type ListDir } from './missing-path.ts';

const TREE: Record<string, string[]> = { '/': ['srv'], '/srv': ['docs'], '/srv/docs': ['invoices', 'notes.txt'], '/srv/docs/invoices': ['2025-01.pdf'] };
const list: ListDir = async (dir) => TREE[dir];

describe('findMissingPath', () => {
  test('an existing directory or file is not missing', async () => {
    assert.equal(await findMissingPath('/srv/docs/invoices', '/', list), undefined);
    assert.equal(await findMissingPath('/srv/docs/notes.txt', '/', list), undefined);
  });
  test('a typo names the longest existing ancestor and the close name in it', async () => {
    assert.deepEqual(await findMissingPath('/srv/docs/invoice/2025-01.pdf', '/', list), { path: '/srv/docs/invoice/2025-01.pdf', nearest: '/srv/docs', similar: '/srv/docs/invoices' });
  });
  test('nothing close: only the ancestor; below a file, the file', async () => {
    assert.deepEqual(await findMissingPath('/srv/photos', '/', list), { path: '/srv/photos', nearest: '/srv' });
    assert.deepEqual(await findMissingPath('/srv/docs/notes.txt/x', '/', list), { path: '/srv/docs/notes.txt/x', nearest: '/srv/docs/notes.txt' });
  });
  test('the error is NOT_FOUND naming the path, with the suggestion as hint', () => {
    const e = missingPathError({ path: '/srv/docs/invoice', nearest: '/srv/docs', similar: '/srv/docs/invoices' }, 'snapshot 1234abcd of docs on usb');
    assert.equal(e.code, 'NOT_FOUND');
    assert.equal(e.message, 'Cannot restore /srv/docs/invoice: it is not in snapshot 1234abcd of docs on usb');
    assert.equal(e.hint, 'did you mean /srv/docs/invoices? (the nearest path there is /srv/docs)');
  });
});
