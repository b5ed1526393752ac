/** Header blocks: tarNumber's byte-by-byte octal parser against the string version; both checksum conventions. */
import { expect } from 'chai';
import { decodeHeaderBlock, tarNumber } from '../../src/format/tar-header-block.js';
import { encodeTarHeader } from '../../src/format/tar-header.js';
import { pseudoRandomBytes } from '../helpers/tree.js';

/** The reference: the field as text, leading spaces and NULs dropped, digits up to a space or NUL. */
function reference(block: Buffer, offset: number, length: number): bigint | undefined {
  if (block[offset]! & 0x80) return tarNumber(block, offset, length); // base-256: not what is compared here
  const text = block.toString('latin1', offset, offset + length).replace(/^[ \0]+/, '');
  const end = text.search(/[ \0]/);
  const digits = end === -1 ? text : text.slice(0, end);
  if (digits === '') return 0n;
  return /^[0-7]+$/.test(digits) ? BigInt(`0o${digits}`) : undefined;
}

describe('format/tar-header-block: tarNumber', () => {
  it('agrees with the string reference on random octal fields, well-formed and not', () => {
    const random = pseudoRandomBytes(400_000, 21);
    const alphabet = Buffer.from('0123456701234567012345670123456789 \0\0  x-+');
    let checked = 0;
    for (let at = 0; at + 24 < random.length; at += 24) {
      const length = [8, 12, 20, 24][random[at]! % 4]!;
      const field = Buffer.alloc(length);
      for (let i = 0; i < length; i++) field[i] = alphabet[random[at + i]! % alphabet.length]!;
      if (random[at + 1]! % 3 === 0) field.fill(0x30, 0, Math.min(length, 1 + (random[at + 2]! % length))); // leading zeros
      expect(tarNumber(field, 0, length), JSON.stringify(field.toString('latin1'))).to.equal(reference(field, 0, length));
      checked++;
    }
    expect(checked).to.be.greaterThan(16_000);
  });

  it('reads the fields tar writes, and 20 digits exactly', () => {
    expect(tarNumber(Buffer.from('0000644 \0'), 0, 8)).to.equal(0o644n);
    expect(tarNumber(Buffer.from('14524770400\0'), 0, 12)).to.equal(0o14524770400n);
    expect(tarNumber(Buffer.from('   \0\0\0\0\0'), 0, 8)).to.equal(0n);
    expect(tarNumber(Buffer.from('0000 9  '), 0, 8)).to.equal(0n);
    expect(tarNumber(Buffer.from('00008   '), 0, 8)).to.equal(undefined);
    expect(tarNumber(Buffer.from('77777777777777777777'), 0, 20)).to.equal(8n ** 20n - 1n);
  });

  it('takes a header whose checksum is the signed sum (old tars), and refuses one whose checksum is neither', () => {
    const block = encodeTarHeader({ path: 'a.txt', type: 'file', size: 3, mode: 0o644, uid: 0, gid: 0, mtimeNs: 1_700_000_000_000_000_000n });
    block.fill(0xe9, 265, 270); // a uname with bytes of 0x80 and more: the two sums differ
    let signed = 8 * 0x20;
    for (let i = 0; i < 512; i++) if (i < 148 || i >= 156) signed += block[i]! >= 0x80 ? block[i]! - 0x100 : block[i]!;
    block.write(`${signed.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    expect(decodeHeaderBlock(block)).to.include({ size: 3, mode: 0o644 });
    block.write('000001\0 ', 148, 'latin1');
    expect(decodeHeaderBlock(block)).to.deep.equal({ invalid: 'header checksum mismatch' });
  });
});
