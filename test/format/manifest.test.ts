import { expect } from 'chai';
import { Readable } from 'node:stream';
import { ManifestEndsScanner, ManifestFormatError, encodeManifest, encodeManifestRecord, hashManifestBytes, parseManifestEnds, readManifest, type ManifestEntry, type ManifestFooter, type ManifestHeader, type ManifestRecord } from '../../src/format/manifest.js';

const header = {
  record: 'header',
  format: 'gulp-backup-manifest',
  version: 2,
  id: 'x',
  kind: 'full',
  parent: null,
  createdAt: '2026-01-01T00:00:00.000Z',
  archive: 'a.tar.gz',
  options: { codec: 'gzip', level: 6, blockSize: 1048576, hashes: ['sha256'] },
  tool: { name: 'gulp-backup', version: '0' },
} as ManifestRecord;
const entry = { record: 'entry', path: 'a', type: 'directory', size: 0, mode: 493, uid: 0, gid: 0, mtimeNs: '1', ctimeNs: '1', ino: '1', offset: 0 } as ManifestRecord;
const totals = { entries: 1, files: 0, directories: 1, symlinks: 0, hardlinks: 0, skipped: 0, contentBytes: 0, tarBytes: 2048, archiveBytes: 90 };
const footer = {
  record: 'footer',
  totals,
  compression: { codec: 'gzip', level: 6, ratio: 0.04, savedPercent: 95.61 },
  timings: { scanMs: 1, storeMs: 1, finishMs: 1, totalMs: 3 },
  blocks: { blockSize: 1048576, count: 1, offsets: [0, 70] },
  archiveFile: { name: 'a.tar.gz', size: 90, sha256: 'a'.repeat(64) },
  skipped: [],
} as unknown as ManifestRecord;
/** A whole manifest as the engine writes it (the footer with its digest), line by line. */
const written = (entries: ManifestRecord[] = [entry], foot = footer) =>
  [...encodeManifest(header as ManifestHeader, entries as ManifestEntry[], foot as ManifestFooter)].join('').split(/(?<=\n)/);

const stream = (lines: string[]) => Readable.from([lines.join('')]);

describe('format/manifest', () => {
  it('reads back what it writes, one record per line', async () => {
    const manifest = await readManifest(stream(written()));
    expect(manifest.header).to.deep.equal(header);
    expect(manifest.entries).to.deep.equal([entry]);
    expect(manifest.footer).to.deep.include(footer);
    expect(manifest.footer.linesSha256).to.match(/^[0-9a-f]{64}$/);
  });

  it('reads lines split anywhere across chunks, multi-byte characters and CRLF included', async () => {
    const named = { ...entry, path: 'ünïcødé/名前' } as ManifestRecord;
    const v1 = { ...header, version: 1 } as ManifestRecord; // CRLF changes the digest: a version 1 manifest has none
    const bytes = Buffer.from([v1, named, footer].map(encodeManifestRecord).join('').replaceAll('\n', '\r\n'));
    const chunks = Array.from({ length: Math.ceil(bytes.length / 3) }, (_, i) => bytes.subarray(i * 3, i * 3 + 3));
    const manifest = await readManifest(Readable.from(chunks));
    expect(manifest.entries).to.deep.equal([named]);
    expect(manifest.footer).to.deep.equal(footer);
    const multiByte = written([named]).join('');
    expect((await readManifest(Readable.from(Array.from(Buffer.from(multiByte)).map((b) => Buffer.of(b))))).entries).to.deep.equal([named]);
  });

  it('rejects a manifest cut short before its footer', async () => {
    const error = await readManifest(stream([header, entry].map(encodeManifestRecord))).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(ManifestFormatError);
    expect((error as Error).message).to.match(/no footer/);
  });

  it('rejects damaged lines, naming the line', async () => {
    const error = await readManifest(stream([encodeManifestRecord(header), '{"record":"entry",\n'])).catch((e: unknown) => e);
    expect((error as Error).message).to.match(/line 2 is not JSON/);
  });

  it('rejects another format or version', async () => {
    const future = { ...header, version: 99 } as unknown as ManifestRecord;
    const error = await readManifest(stream([future, footer].map(encodeManifestRecord))).catch((e: unknown) => e);
    expect((error as Error).message).to.match(/version 99/);
  });

  it('is tamper-evident: a line removed, added or edited, or a missing digest, is refused', async () => {
    const second = { ...entry, path: 'b' } as ManifestRecord;
    const lines = written([entry, second], { ...footer, totals: { ...totals, entries: 2, directories: 2 } } as ManifestRecord);
    expect((await readManifest(stream(lines))).entries).to.have.length(2);
    const injected = { ...entry, path: 'planted' } as ManifestRecord;
    const footerLine = lines.at(-1)!;
    const unsigned = footerLine.replace(/,"linesSha256":"[0-9a-f]+"/, '');
    for (const tampered of [
      [lines[0]!, lines[1]!, footerLine], // a line deleted
      [lines[0]!, lines[1]!, lines[2]!, encodeManifestRecord(injected), footerLine], // a line injected
      [lines[0]!, lines[1]!.replace('"mode":493', '"mode":511'), lines[2]!, footerLine], // a field edited
      [lines[0]!, lines[1]!, lines[2]!, unsigned], // the digest removed
    ]) {
      const bytes = Buffer.from(tampered.join(''));
      // Whole, and in 5-byte chunks: the digest is taken a chunk of whole lines at a time.
      for (const chunks of [[bytes], Array.from({ length: Math.ceil(bytes.length / 5) }, (_, i) => bytes.subarray(i * 5, i * 5 + 5))]) {
        const error = await readManifest(Readable.from(chunks)).catch((e: unknown) => e);
        expect(error).to.be.instanceOf(ManifestFormatError);
        expect((error as Error).message).to.match(/removed, added or edited/);
      }
    }
  });

  it('a manifest scanned piece by piece gives what parsing it whole gives: the same digests, header and footer, or the same error', () => {
    const many = Array.from({ length: 40 }, (_, i) => ({ ...entry, path: `dir-${i}` }) as ManifestRecord);
    const good = written(many, { ...footer, totals: { ...totals, entries: 40, directories: 40 } } as ManifestRecord).join('');
    const one = written().join('');
    const cases = [
      good,
      one,
      `${one}\n\n`, // blank lines after the footer
      one.replace(/\n/g, '\r\n'), // CRLF
      one.slice(0, -1), // no final line break
      one.slice(0, one.lastIndexOf('{"record":"footer"')), // cut before the footer
      one.replace('"path":"a"', '"path":"b"'), // an entry edited
      `${one.split('\n')[0]}\n${one.split('\n')[0]}\n`, // a header where the footer goes
      one.split('\n').slice(1).join('\n'), // no header
      '',
      '\n\n\n',
      '{"record":"header"',
      `${one.split('\n')[0]}`, // a header alone, without a line break
      good.replace(/\n(?=\{"record":"entry","path":"dir-7")/, '\n\n'), // a blank line among the entries
    ];
    let next = 7;
    const random = (below: number) => (next = (next * 1103515245 + 12345) % 2 ** 31) % below;
    const parsed: number[] = [];
    for (const [i, text] of cases.entries()) {
      const bytes = Buffer.from(text);
      const outcome = (run: () => unknown) => {
        try {
          return { value: run() };
        } catch (error) {
          return { error: `${(error as Error).constructor.name}: ${(error as Error).message}` };
        }
      };
      const whole = outcome(() => {
        const digests = hashManifestBytes(bytes);
        return { ...parseManifestEnds(bytes, digests), sha256: digests.sha256, linesSha256: digests.linesSha256 };
      });
      for (let round = 0; round < 30; round++) {
        const scanner = new ManifestEndsScanner();
        for (let at = 0; at < bytes.length; ) {
          const length = 1 + random(round % 3 === 0 ? 4 : 200);
          scanner.update(bytes.subarray(at, at + length));
          at += length;
        }
        expect(outcome(() => ({ ...scanner.ends(), ...scanner.digests() })), `case ${i}, round ${round}`).to.deep.equal(whole);
      }
      if ('value' in whole) parsed.push(i);
    }
    expect(parsed, 'the cases that parse (the others fail, each its own way)').to.deep.equal([0, 1, 2, 4]);
  });

  it('writes a large manifest in pieces of whole lines, which read back whole however they are cut', async () => {
    const entries = Array.from({ length: 3000 }, (_, i) => ({ ...entry, path: `d${String(i).padStart(5, '0')}` }) as ManifestRecord);
    const pieces = [...encodeManifest(header as ManifestHeader, entries as ManifestEntry[], { ...footer, totals: { ...totals, entries: 3000, directories: 3000 } } as ManifestFooter)];
    expect(pieces.length).to.be.greaterThan(2); // not one string, not one per line
    expect(pieces.length).to.be.lessThan(100);
    for (const piece of pieces) expect(piece.endsWith('\n')).to.equal(true);
    const bytes = Buffer.from(pieces.join(''));
    for (const size of [bytes.length, 65_536, 4_099, 333]) {
      const chunks = Array.from({ length: Math.ceil(bytes.length / size) }, (_, i) => bytes.subarray(i * size, i * size + size));
      expect((await readManifest(Readable.from(chunks))).entries).to.have.length(3000);
    }
  });

  it('refuses a header or footer with fields readers rely on missing or malformed, even when the digest was computed again', async () => {
    const cases: [ManifestRecord, ManifestRecord, RegExp][] = [
      [{ ...header, archive: '..' } as ManifestRecord, footer, /header has a malformed `archive` \("\.\."\)/],
      [{ ...header, archive: 'sub/a.tar.gz' } as ManifestRecord, footer, /header has a malformed `archive`/],
      [{ ...header, options: undefined } as unknown as ManifestRecord, footer, /header has a malformed `options` \(missing\)/],
      [{ ...header, kind: 'weekly' } as unknown as ManifestRecord, footer, /header has a malformed `kind`/],
      // A digest name that createHash does not know threw out of verify (exit 3) instead of a report.
      [{ ...header, options: { ...(header as ManifestHeader).options, hashes: ['file'] } } as unknown as ManifestRecord, footer, /header has a malformed `options` .*"hashes":\["file"\]/],
      [header, { ...footer, blocks: undefined } as unknown as ManifestRecord, /footer has a malformed `blocks` \(missing\)/],
      [header, { ...footer, blocks: { blockSize: 1048576, count: 2, offsets: [0, 70] } } as unknown as ManifestRecord, /footer has a malformed `blocks`/],
      [header, { ...footer, archiveFile: { name: 'a.tar.gz', size: -1, sha256: 'a'.repeat(64) } } as unknown as ManifestRecord, /footer has a malformed `archiveFile`/],
    ];
    for (const [head, foot, message] of cases) {
      const lines = [...encodeManifest(head as ManifestHeader, [entry as ManifestEntry], foot as ManifestFooter)];
      const error = await readManifest(stream(lines)).catch((e: unknown) => e);
      expect(error, String(message)).to.be.instanceOf(ManifestFormatError);
      expect(error).to.have.property('code', 'MANIFEST_INVALID');
      expect((error as Error).message).to.match(message);
    }
  });

  it('checks the footer totals against the entries, even when the digest was computed again', async () => {
    const lying = written([entry], { ...footer, totals: { ...totals, entries: 2 } } as ManifestRecord);
    const error = await readManifest(stream(lying)).catch((e: unknown) => e);
    expect((error as Error).message).to.match(/footer counts 2 entries, but its entries hold 1/);
  });
});
