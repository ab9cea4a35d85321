import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { closest, didYouMean, editDistance } from './suggest.ts';

describe('editDistance', () => {
  it('counts a swapped pair of letters as one edit', () => {
    assert.equal(editDistance('priorty', 'priority'), 1);
    assert.equal(editDistance('destiantions', 'destinations'), 1);
    assert.equal(editDistance('kitten', 'sitting'), 3);
    assert.equal(editDistance('', 'abc'), 3);
  });
});

describe('closest', () => {
  const keys = ['paths', 'command', 'filename', 'priority', 'frequency', 'destinations', 'exclude', 'exclude_from'];
  it('finds the key a typo was meant to be', () => {
    assert.equal(closest('priorty', keys), 'priority');
    assert.equal(closest('frequncy', keys), 'frequency');
    assert.equal(closest('path', keys), 'paths');
  });
  it('ignores case and the - / _ spelling', () => {
    assert.equal(closest('exclude-from', keys), 'exclude_from');
    assert.equal(closest('Priority', keys), 'priority');
  });
  it('completes a word cut short when only one candidate begins with it', () => {
    assert.equal(closest('hi', ['critical', 'high', 'medium', 'low']), 'high');
    assert.equal(closest('exclude', ['exclude_from', 'exclude_if_present']), undefined);
  });
  it('offers nothing when no key is close', () => {
    assert.equal(closest('schedule', keys), undefined);
    assert.equal(didYouMean('zz', keys), undefined);
  });
  it('words the suggestion', () => {
    assert.equal(didYouMean('nsa', ['usb-media', 'nas']), 'did you mean "nas"?');
  });
});
