import { expect } from 'chai';
import { Readable } from 'node:stream';
import { ManifestFormatError, encodeManifestRecord, readManifest, type ManifestRecord } from '../../src/format/manifest.js';

const header = {
  record: 'header',
  format: 'gulp-backup-manifest',
  version: 1,
  id: 'x',
  kind: 'full',
  parent: null,
  createdAt: '2026-01-01T00:00:00.000Z',
  archive: 'a.tar.gz',
  options: { codec: 'gzip', level: 6, blockSize: 1048576, hashes: ['sha256'] },
  tool: { name: 'gulp-backup', version: '0' },
} as ManifestRecord;
const entry = { record: 'entry', path: 'a', type: 'directory', size: 0, mode: 493, uid: 0, gid: 0, mtimeNs: '1', ctimeNs: '1', ino: '1', offset: 0 } as ManifestRecord;
const footer = { record: 'footer', totals: {}, skipped: [] } as unknown as ManifestRecord;

const stream = (lines: string[]) => Readable.from([lines.join('')]);

describe('format/manifest', () => {
  it('reads back what it writes, one record per line', async () => {
    const manifest = await readManifest(stream([header, entry, footer].map(encodeManifestRecord)));
    expect(manifest.header).to.deep.equal(header);
    expect(manifest.entries).to.deep.equal([entry]);
    expect(manifest.footer).to.deep.equal(footer);
  });

  it('reads lines split anywhere across chunks, multi-byte characters and CRLF included', async () => {
    const named = { ...entry, path: 'ünïcødé/名前' } as ManifestRecord;
    const bytes = Buffer.from([header, named, footer].map(encodeManifestRecord).join('').replaceAll('\n', '\r\n'));
    const chunks = Array.from({ length: Math.ceil(bytes.length / 3) }, (_, i) => bytes.subarray(i * 3, i * 3 + 3));
    const manifest = await readManifest(Readable.from(chunks));
    expect(manifest.entries).to.deep.equal([named]);
    expect(manifest.footer).to.deep.equal(footer);
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
});
