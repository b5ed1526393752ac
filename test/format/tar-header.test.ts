import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { Header, Pax } from 'tar';
import { TAR_BLOCK_SIZE, encodeTarHeader, encodeWithNodeTar, tarPadding, type TarEntryHeader } from '../../src/format/tar-header.js';
import { pseudoRandomBytes } from '../helpers/tree.js';

const base = { type: 'file' as const, size: 5, mode: 0o644, uid: 1000, gid: 1000, mtimeNs: 1_700_000_000_000_000_000n };

describe('format/tar-header', () => {
  it('writes one ustar block for a short ASCII name and whole seconds', () => {
    const block = encodeTarHeader({ ...base, path: 'src/a.txt' });
    expect(block.length).to.equal(TAR_BLOCK_SIZE);
    const header = new Header(block);
    expect(header.cksumValid).to.equal(true);
    expect(header).to.include({ path: 'src/a.txt', size: 5, mode: 0o644, uid: 1000, type: 'File' });
    expect(header.mtime?.getTime()).to.equal(Number(base.mtimeNs / 1_000_000n));
  });

  it('writes the bytes node-tar writes, for random entries of every type, size, time and name length', () => {
    const random = pseudoRandomBytes(200_000, 11);
    let at = 0;
    const next = (n: number) => {
      const value = random.readUInt32LE(at % (random.length - 4)) % n;
      at += 4;
      return value;
    };
    const name = (length: number) => Array.from({ length }, () => 'abcdefghijklmnopqrstuvwxyz0123456789._-/'[next(40)]).join('').replace(/\/+/g, '/').replace(/^\/|\/$/g, 'x');
    const types = ['file', 'directory', 'symlink', 'hardlink'] as const;
    let compared = 0;
    for (let i = 0; i < 3000; i++) {
      const type = types[next(4)]!;
      const entry: TarEntryHeader = {
        path: name(1 + next(i % 10 === 0 ? 140 : 98)),
        type,
        size: type === 'file' ? [0, 1, 511, 512, 513, next(1 << 30), 0o77777777777][next(7)]! : 0,
        mode: next(0o10000),
        uid: [0, 1000, next(0o7777777 + 1), 0o7777777][next(4)]!,
        gid: [0, 1000, next(0o7777777 + 1)][next(3)]!,
        mtimeNs: BigInt([0, 1, 1_700_000_000, 0o77777777777, next(2 ** 31)][next(5)]!) * 1_000_000_000n + BigInt(next(3) === 0 ? 0 : next(1_000_000_000)),
        ...(type === 'symlink' || type === 'hardlink' ? { linkTarget: name(1 + next(i % 7 === 0 ? 130 : 99)) } : {}),
      };
      expect(encodeTarHeader(entry).equals(encodeWithNodeTar(entry)), JSON.stringify(entry, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v))).to.equal(true);
      compared++;
    }
    expect(compared).to.equal(3000);
  });

  it('matches the golden bytes of a known header (format stability)', () => {
    const block = encodeTarHeader({ ...base, path: 'src/a.txt' });
    // Golden digest recorded when format version 1 was fixed; a change here changes every archive.
    expect(createHash('sha256').update(block).digest('hex')).to.equal('e26eaaf2fcd55d801035fe7d859c0865e988db8b5fcd69e43f9c2437c0adda94');
    // ustar magic and version, as GNU tar and bsdtar expect
    expect(block.subarray(257, 265).toString('latin1')).to.equal('ustar\u000000');
  });

  it('adds a pax header for long names, non-ASCII names and sub-second times', () => {
    const longPath = `deep/${'x'.repeat(120)}.txt`; // a name of over 100 bytes cannot be split into ustar's prefix
    for (const entry of [
      { ...base, path: longPath },
      { ...base, path: 'héllo-wörld.txt' },
      { ...base, path: 'a.txt', mtimeNs: base.mtimeNs + 123_000_000n },
    ]) {
      const bytes = encodeTarHeader(entry);
      expect(bytes.length).to.be.greaterThan(TAR_BLOCK_SIZE);
      const paxHeader = new Header(bytes);
      expect(paxHeader.type).to.equal('ExtendedHeader');
      const body = bytes.subarray(TAR_BLOCK_SIZE, TAR_BLOCK_SIZE + paxHeader.size!).toString('utf8');
      const pax = Pax.parse(body);
      expect(pax.path).to.equal(entry.path);
      expect(pax.mtime?.getTime()).to.equal(Number(entry.mtimeNs / 1_000_000n));
      expect(bytes.length % TAR_BLOCK_SIZE).to.equal(0);
    }
  });

  it('splits a long path into ustar prefix and name without pax when it fits', () => {
    const path = `${'deep/'.repeat(40)}file.txt`;
    const block = encodeTarHeader({ ...base, path });
    expect(block.length).to.equal(TAR_BLOCK_SIZE);
    expect(new Header(block).path).to.equal(path);
  });

  it('marks folders with a trailing slash and links with their target', () => {
    expect(new Header(encodeTarHeader({ ...base, size: 0, type: 'directory', path: 'src' }))).to.include({ path: 'src/', type: 'Directory', size: 0 });
    expect(new Header(encodeTarHeader({ ...base, type: 'symlink', path: 'l', linkTarget: '../x' }))).to.include({
      type: 'SymbolicLink',
      linkpath: '../x',
      size: 0,
    });
    expect(new Header(encodeTarHeader({ ...base, type: 'hardlink', path: 'h', linkTarget: 'src/a.txt' }))).to.include({
      type: 'Link',
      linkpath: 'src/a.txt',
    });
  });

  it('pads content to 512-byte blocks', () => {
    expect([0, 1, 511, 512, 513].map(tarPadding)).to.deep.equal([0, 511, 1, 0, 511]);
  });
});
