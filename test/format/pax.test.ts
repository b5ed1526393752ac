/** pax times: what formatPaxTime writes reads back exactly; malformed values are refused, not guessed. */
import { expect } from 'chai';
import { formatPaxTime, paxTimeNs } from '../../src/format/pax.js';

describe('format/pax: paxTimeNs', () => {
  it('reads back what formatPaxTime writes, before and after 1970 and past 2^64 nanoseconds', () => {
    for (const ns of [0n, 1n, 999_999_999n, 1_700_000_000_123_456_789n, 1_700_000_000_000_000_000n, -1_500_000_000n, 10n ** 24n + 7n]) {
      expect(paxTimeNs(Buffer.from(formatPaxTime(ns)))).to.equal(ns);
    }
  });

  it('cuts a finer fraction to nanoseconds, and refuses what is not a decimal number', () => {
    expect(paxTimeNs(Buffer.from('1.1234567891'))).to.equal(1_123_456_789n);
    expect(paxTimeNs(Buffer.from('1.'))).to.equal(1_000_000_000n);
    expect(paxTimeNs(Buffer.from('-0.5'))).to.equal(-500_000_000n);
    for (const bad of ['.5', '', '1e9', ' 12', '12 ', '1.2.3', '+5', '123456789012345678901']) {
      expect(paxTimeNs(Buffer.from(bad)), bad).to.equal(undefined);
    }
    expect(paxTimeNs(undefined)).to.equal(undefined);
  });
});
