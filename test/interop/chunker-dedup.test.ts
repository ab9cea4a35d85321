/**
 * Chunker parity in practice (restic-format.md §7, §11 A4): lifeboat and restic 0.14 cut the
 * same bytes at the same places with the repository's polynomial, so whichever program backs up
 * first, the other one stores only what is new. A 40 MiB file is backed up by one program; the
 * same bytes behind a 100 KiB prefix are backed up by the other into the same repository. Only
 * the chunk(s) around the prefix may be new: data_added must stay under 3 MiB (the prefix plus at
 * most a couple of average 1 MiB chunks; a chunker mismatch would re-add all 40 MiB).
 *
 * Both repositories use one fixed chunker polynomial (a template repository made with the
 * engine's init, copied into restic's with init --copy-chunker-params). With a fresh random
 * polynomial the chunk that absorbs the prefix is 512 KiB plus an exponential tail (mean 1 MiB,
 * capped at 8 MiB), so a 3 MiB bound would fail for roughly one polynomial in ten although
 * both programs cut identically; fixing it makes the bound exact for these bytes, and the last
 * test then demands that both directions add the very same number of blobs.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { LocalBackend } from '../../src/core/backend/local-backend.ts';
import { Repository } from '../../src/core/repository/repository.ts';
import { seededBytes } from './edge-tree.ts';
import { PASSWORD, Sandbox, requireTools, summaryOf } from './tools.ts';

const BIG = 40 << 20;
const PREFIX = 100 << 10;
const LIMIT = 3 << 20;
/** An irreducible degree-53 polynomial that restic 0.14 itself once drew. */
const POLYNOMIAL = 0x25ae0cfa908243n;

/** Creates a repository with the fixed polynomial through the engine (the CLI has no flag). */
async function initWithPolynomial(dir: string): Promise<void> {
  const repo = await Repository.init(new LocalBackend(dir), PASSWORD, { polynomial: POLYNOMIAL });
  await repo.close();
}

describe('content-defined chunking matches restic 0.14 across programs', () => {
  let sb: Sandbox;
  let plain: string;
  let shifted: string;
  const added: { resticAfterLifeboat?: number; lifeboatAfterRestic?: number } = {};

  before(async () => {
    requireTools('restic');
    sb = new Sandbox('chunker-dedup');
    const data = seededBytes('chunker-dedup/data', BIG);
    plain = sb.path('plain');
    shifted = sb.path('shifted');
    mkdirSync(plain);
    mkdirSync(shifted);
    writeFileSync(sb.path('plain', 'big.bin'), data);
    writeFileSync(sb.path('shifted', 'big.bin'), Buffer.concat([seededBytes('chunker-dedup/prefix', PREFIX), data]));
    await initWithPolynomial(sb.path('template'));
    writeFileSync(sb.path('password'), PASSWORD);
  });

  after(() => sb?.dispose());

  test('lifeboat first, then restic: restic adds only about the prefix', async () => {
    const repo = sb.path('repo-lifeboat-first');
    await initWithPolynomial(repo);
    const ours = summaryOf(sb.lifeboat('repo', 'backup', '--json', '--repo', repo, plain).stdout);
    assert.equal(ours.files_new, 1);
    assert.ok(Number(ours.data_added) >= BIG, `lifeboat added ${ours.data_added} bytes for ${BIG}`);

    // The very same bytes, re-read by restic (--force: no parent shortcut): no new data blob.
    const same = summaryOf(sb.restic('-r', repo, 'backup', '--json', '--force', plain).stdout);
    assert.equal(same.files_new, 1);
    assert.equal(same.data_blobs, 0, 'restic cut the unshifted file differently from lifeboat');

    const theirs = summaryOf(sb.restic('-r', repo, 'backup', '--json', shifted).stdout);
    assert.equal(theirs.files_new, 1);
    assert.ok(Number(theirs.data_added) >= PREFIX, `restic added ${theirs.data_added} bytes, less than the ${PREFIX}-byte prefix`);
    assert.ok(Number(theirs.data_added) < LIMIT, `restic added ${theirs.data_added} bytes (limit ${LIMIT}): chunk boundaries differ`);
    assert.ok(Number(theirs.data_blobs) <= 4, `restic added ${theirs.data_blobs} data blobs`);
    added.resticAfterLifeboat = Number(theirs.data_blobs);
    sb.restic('-r', repo, 'check');
  });

  test('restic first, then lifeboat: lifeboat adds only about the prefix', () => {
    const repo = sb.path('repo-restic-first');
    sb.restic('-r', repo, 'init', '--copy-chunker-params', '--from-repo', sb.path('template'), '--from-password-file', sb.path('password'));
    const config = JSON.parse(sb.restic('-r', repo, 'cat', 'config').stdout) as { chunker_polynomial: string };
    assert.equal(BigInt('0x' + config.chunker_polynomial), POLYNOMIAL);
    const theirs = summaryOf(sb.restic('-r', repo, 'backup', '--json', plain).stdout);
    assert.equal(theirs.files_new, 1);

    const ours = summaryOf(sb.lifeboat('repo', 'backup', '--json', '--repo', repo, shifted).stdout);
    assert.equal(ours.files_new, 1);
    assert.equal(ours.errors, 0);
    assert.ok(Number(ours.data_added) >= PREFIX, `lifeboat added ${ours.data_added} bytes, less than the ${PREFIX}-byte prefix`);
    assert.ok(Number(ours.data_added) < LIMIT, `lifeboat added ${ours.data_added} bytes (limit ${LIMIT}): chunk boundaries differ`);
    assert.ok(Number(ours.data_blobs) <= 4, `lifeboat added ${ours.data_blobs} data blobs`);
    added.lifeboatAfterRestic = Number(ours.data_blobs);
    sb.restic('-r', repo, 'check');
  });

  test('either way round, the same number of new chunks is added', () => {
    assert.ok(added.resticAfterLifeboat !== undefined && added.lifeboatAfterRestic !== undefined, 'both directions must have run');
    assert.equal(added.lifeboatAfterRestic, added.resticAfterLifeboat);
  });
});
