import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { decodeNameBytes, encodeNameBytes } from '../../src/format/path-bytes.js';
import { decodeTarHeader } from '../../src/format/tar-entry-header.js';
import { readTarEntries, type TarEntry, type TarStreamEnd } from '../../src/format/tar-entry-stream.js';
import { encodeTarHeader, TAR_END_OF_ARCHIVE } from '../../src/format/tar-header.js';
import { tempDir } from '../helpers/tree.js';

interface ReadBack {
  path: string;
  type: string;
  linkTarget: string;
  mtimeNs: bigint;
  content: string;
}

/** Every entry of a tar stream fed in chunks of `chunk` bytes (to cross every boundary). */
async function entriesOf(tar: Buffer, chunk = 100, end?: TarStreamEnd): Promise<ReadBack[]> {
  const chunks: Buffer[] = [];
  for (let at = 0; at < tar.length; at += chunk) chunks.push(tar.subarray(at, at + chunk));
  const out: ReadBack[] = [];
  for await (const entry of readTarEntries(Readable.from(chunks), end)) {
    const parts: Buffer[] = [];
    for await (const part of entry.content()) parts.push(Buffer.from(part));
    out.push({ path: entry.path, type: entry.type, linkTarget: entry.linkTarget, mtimeNs: entry.mtimeNs, content: Buffer.concat(parts).toString('latin1') });
  }
  return out;
}

function python(script: string, cwd: string): void {
  execFileSync('python3', ['-c', script], { cwd });
}

describe('format/tar-entry-stream (one reader for every tar)', () => {
  it('applies a pax path over the ustar prefix (was read as prefix/prefix/name, a false "damaged")', async () => {
    const path = `src/${'a'.repeat(60)}/${'b'.repeat(60)}/file.txt`; // splits into ustar prefix + name
    const header = encodeTarHeader({ path, type: 'file', size: 2, mode: 0o644, uid: 0, gid: 0, mtimeNs: 1_700_000_000_500_000_000n });
    const decoded = decodeTarHeader(header);
    expect(decoded).to.include({ path, type: 'file', size: 2 });
    const tar = Buffer.concat([header, Buffer.from('hi'), Buffer.alloc(510), TAR_END_OF_ARCHIVE]);
    expect(await entriesOf(tar)).to.deep.equal([{ path, type: 'file', linkTarget: '', mtimeNs: 1_700_000_000_500_000_000n, content: 'hi' }]);
  });

  it('keeps nanosecond mtimes, pre-1970 mtimes and names that are not UTF-8, byte-exact', async () => {
    const latin1 = decodeNameBytes(Buffer.from([0x63, 0x61, 0x66, 0xe9])); // "café" in Latin-1
    expect(encodeNameBytes(latin1)).to.deep.equal(Buffer.from([0x63, 0x61, 0x66, 0xe9]));
    const entries = [
      { path: latin1, mtimeNs: 1_700_000_000_123_456_789n },
      { path: 'old', mtimeNs: -86_400_500_000_000n },
      { path: 'line\nbreak\r', mtimeNs: 0n },
    ];
    const tar = Buffer.concat([
      ...entries.map((e) => encodeTarHeader({ ...e, type: 'file', size: 0, mode: 0o644, uid: 0, gid: 0 })),
      TAR_END_OF_ARCHIVE,
    ]);
    const read = await entriesOf(tar, 7);
    expect(read.map((e) => [e.path, e.mtimeNs])).to.deep.equal(entries.map((e) => [e.path, e.mtimeNs]));
    expect(JSON.parse(JSON.stringify(latin1))).to.equal(latin1); // lossless through the manifest's JSON
  });

  it('reads what GNU tar writes in every format it offers, long names and link names included', async () => {
    const dir = await tempDir();
    const long = `${'deep-folder-name/'.repeat(8)}${'f'.repeat(120)}.txt`;
    mkdirSync(join(dir, 'src', long, '..'), { recursive: true });
    writeFileSync(join(dir, 'src', long), 'long');
    writeFileSync(join(dir, 'src', 'a.txt'), 'a');
    execFileSync('ln', ['-s', `../${'t'.repeat(150)}`, join(dir, 'src', 'link')]);
    execFileSync('ln', [join(dir, 'src', 'a.txt'), join(dir, 'src', 'hard')]);
    for (const format of ['gnu', 'oldgnu', 'posix', 'ustar', 'v7']) {
      const file = join(dir, `${format}.tar`);
      // ustar and v7 cannot hold the long names: tar leaves them out (and exits 2), as listed below.
      spawnSync('tar', ['--format', format, '-C', dir, '-cf', file, 'src']);
      const listed = execFileSync('tar', ['-tf', file]).toString().trim().split('\n').map((p) => p.replace(/\/$/, ''));
      const read = await entriesOf(readFileSync(file), 512 * 3 + 17);
      expect(read.map((e) => e.path), format).to.deep.equal(listed);
      const byPath = new Map(read.map((e) => [e.path, e]));
      if (listed.includes(`src/${long}`)) expect(byPath.get(`src/${long}`)?.content, format).to.equal('long');
      if (!['ustar', 'v7'].includes(format)) expect(byPath.get('src/link')?.linkTarget, format).to.equal(`../${'t'.repeat(150)}`);
      const hard = byPath.get('src/hard') ?? byPath.get('src/a.txt');
      expect(hard?.type === 'hardlink' || hard?.content === 'a', format).to.equal(true);
    }
  });

  it('applies pax global headers and repeated pax headers as Python writes them', async () => {
    const dir = await tempDir();
    python(
      `
import tarfile, io
t = tarfile.open('g.tar', 'w', format=tarfile.PAX_FORMAT, pax_headers={'comment': 'global', 'uname': 'everyone'})
i = tarfile.TarInfo('x.txt'); i.size = 1; i.mtime = 1.5; i.pax_headers = {'mtime': '1700000000.25'}
t.addfile(i, io.BytesIO(b'x'))
i = tarfile.TarInfo('bad-mtime.txt'); i.size = 0; i.mtime = 1234; i.pax_headers = {'mtime': 'soon'}
t.addfile(i, io.BytesIO(b''))
i = tarfile.TarInfo('neg.txt'); i.size = 0; i.mtime = -100
t.addfile(i, io.BytesIO(b''))
t.close()
`,
      dir,
    );
    const read: TarEntry[] = [];
    for await (const entry of readTarEntries(Readable.from([readFileSync(join(dir, 'g.tar'))]))) read.push(entry);
    expect(read.map((e) => e.path)).to.deep.equal(['x.txt', 'bad-mtime.txt', 'neg.txt']);
    expect(read[0]!.uname).to.equal('everyone');
    expect(read[0]!.mtimeNs).to.equal(1_700_000_000_250_000_000n);
    expect(read[1]!.mtimeNs).to.equal(1_234_000_000_000n); // not a number: the ustar mtime, as GNU tar does
    expect(read[2]!.mtimeNs).to.equal(-100_000_000_000n);
  });

  it('reads names that are not UTF-8 from GNU tar byte-exact, two such names staying two', async () => {
    const dir = await tempDir();
    python(
      `
import os
os.makedirs(b'src', exist_ok=True)
for name in [b'caf\\xe9', b'caf\\xe8', b'new\\nline']:
    open(b'src/' + name, 'wb').write(name)
`,
      dir,
    );
    for (const format of ['posix', 'gnu']) {
      execFileSync('tar', ['--format', format, '-C', dir, '-cf', join(dir, `${format}.tar`), 'src']);
      const read = await entriesOf(readFileSync(join(dir, `${format}.tar`)));
      const files = read.filter((e) => e.type === 'file');
      expect(files.map((e) => encodeNameBytes(e.path).toString('latin1')).sort(), format).to.deep.equal(['src/caf\xe8', 'src/caf\xe9', 'src/new\nline']);
      for (const file of files) expect(file.content).to.equal(encodeNameBytes(file.path.slice(4)).toString('latin1'));
    }
  });

  it('ends at the first zero block without reading further, and says when the end marker is missing', async () => {
    const header = encodeTarHeader({ path: 'a', type: 'file', size: 1, mode: 0o644, uid: 0, gid: 0, mtimeNs: 0n });
    const body = Buffer.concat([header, Buffer.from('a'), Buffer.alloc(511)]);
    const end: TarStreamEnd = { endMarker: false, bytes: 0 };
    let pulled = 0;
    const endless = Readable.from(
      (function* () {
        yield Buffer.concat([body, TAR_END_OF_ARCHIVE]);
        for (;;) {
          pulled++;
          if (pulled > 1000) throw new Error('read past the end marker');
          yield Buffer.alloc(65536);
        }
      })(),
    );
    const names: string[] = [];
    for await (const entry of readTarEntries(endless, end)) names.push(entry.path);
    expect(names).to.deep.equal(['a']);
    expect(end.endMarker).to.equal(true);
    expect(pulled).to.be.lessThan(2);
    const noMarker: TarStreamEnd = { endMarker: false, bytes: 0 };
    expect((await entriesOf(body, 512, noMarker)).map((e) => e.content)).to.deep.equal(['a']);
    expect(noMarker.endMarker).to.equal(false);
  });

  it('fails with TAR_TRUNCATED inside content and TAR_DAMAGED on a bad header, after the entries before', async () => {
    const first = Buffer.concat([encodeTarHeader({ path: 'a', type: 'file', size: 1, mode: 0o644, uid: 0, gid: 0, mtimeNs: 0n }), Buffer.from('a'), Buffer.alloc(511)]);
    const second = encodeTarHeader({ path: 'b', type: 'file', size: 2000, mode: 0o644, uid: 0, gid: 0, mtimeNs: 0n });
    const seen: string[] = [];
    const read = async (tar: Buffer) => {
      try {
        for await (const entry of readTarEntries(Readable.from([tar]))) {
          seen.push(entry.path);
          for await (const part of entry.content()) void part;
        }
      } catch (error) {
        return (error as { code?: string }).code;
      }
      return 'no error';
    };
    expect(await read(Buffer.concat([first, second, Buffer.alloc(100)]))).to.equal('TAR_TRUNCATED');
    const damaged = Buffer.from(second);
    damaged[10] = damaged[10]! ^ 0xff;
    expect(await read(Buffer.concat([first, damaged]))).to.equal('TAR_DAMAGED');
    expect(seen).to.deep.equal(['a', 'b', 'a']);
  });
});
