/** The public surface is chosen, not whatever a module happens to export: a new export is a decision. */
import { expect } from 'chai';
import * as api from '../src/index.js';
import { BackupError } from '../src/index.js';
import { TarFormatError } from '../src/format/tar-entry-stream.js';
import { GzipFormatError } from '../src/format/gzip-members.js';
import { ManifestFormatError } from '../src/format/manifest.js';

describe('the package API', () => {
  it('exports exactly the documented values', () => {
    expect(Object.keys(api).sort()).to.deep.equal([
      'AbortError',
      'BackupError',
      'ChainError',
      'MANIFEST_FORMAT',
      'MANIFEST_VERSION',
      'OptionError',
      'OutputError',
      'SourceError',
      'StoreError',
      'backup',
      'backupTask',
      'backupWithProgress',
      'createBackup',
      'extensionStatistics',
      'previewBackup',
      'previewRestore',
      'pruneBackups',
      'pruneTask',
      'readManifest',
      'restore',
      'restoreBackup',
      'restoreTask',
      'verify',
      'verifyBackup',
      'verifyTask',
    ]);
  });

  it('has one error root: the format errors are BackupErrors with stable codes', () => {
    expect(new TarFormatError('TAR_TRUNCATED', 'cut', 512)).to.be.instanceOf(BackupError).and.to.include({ code: 'TAR_TRUNCATED', offset: 512, name: 'TarFormatError' });
    expect(new GzipFormatError('Z_BUF_ERROR', 'cut')).to.be.instanceOf(BackupError).and.to.include({ code: 'ARCHIVE_TRUNCATED' });
    expect(new ManifestFormatError('bad')).to.be.instanceOf(BackupError).and.to.include({ code: 'MANIFEST_INVALID' });
  });
});
