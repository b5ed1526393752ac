/** Counts in words: the thousands marked as toLocaleString('en-US') marks them. */
import { expect } from 'chai';
import { countText, plural } from '../../src/engine/plural.js';

describe('engine/plural', () => {
  it('marks thousands as toLocaleString does, for every count a run can print', () => {
    const counts = [0, 1, 9, 10, 99, 100, 999, 1000, 1001, 9999, 10000, 65536, 999999, 1000000, 20001, 1234567890, Number.MAX_SAFE_INTEGER, -1, -1234567, 1.5, 2 ** 60];
    for (let n = 1; n < 1e15; n = n * 7 + 3) counts.push(n);
    for (const count of counts) expect(countText(count), String(count)).to.equal(count.toLocaleString('en-US'));
  });

  it('names one and many', () => {
    expect([plural(1, 'file'), plural(20001, 'file'), plural(2, 'entry'), plural(3, 'key')]).to.deep.equal(['1 file', '20,001 files', '2 entries', '3 keys']);
  });
});
