/** gulp-backup: concurrent, verifiable backups for gulp, npm scripts and CI. */
export { createBackup, type BackupResult } from './engine/write/backup.js';
export { backupWithProgress, type BackupRun } from './engine/write/backup-with-progress.js';
export { previewBackup, type BackupPreview } from './engine/write/preview.js';
export { extensionStatistics, type ExtensionStatistics } from './engine/write/extension-statistics.js';
export { verifyBackup, type ArchiveLayout, type VerifyOptions, type VerifyReport } from './engine/read/verify.js';
export type { EntryReport, EntryStatus } from './engine/read/entry-checker.js';
export { restoreBackup, type RestoreOptions, type RestoreResult, type RestoreFailure } from './engine/read/restore.js';
export { previewRestore, type RestorePreview } from './engine/read/restore-preview.js';
export type { BackupOptions, ArchiveOptions, HashAlgorithm } from './engine/options.js';
export type { ContentFileSystem } from './engine/file-system.js';
export type { S3Settings } from './store/s3-settings.js';
export type { BackupProgress, BackupPhase } from './engine/progress.js';
export type { BackupStatistics, PhaseTimings } from './engine/write/statistics.js';
// Every error the API throws is a BackupError with a stable `code` (the classes narrow it).
export { BackupError, OptionError, SourceError, OutputError, ChainError, StoreError, AbortError, type BackupErrorCode, type BackupErrorDetails } from './errors.js';
// The manifest format (docs/FORMAT.md): its types, and a reader for scripts that inspect backups.
export {
  MANIFEST_FORMAT,
  MANIFEST_VERSION,
  readManifest,
  type BackupKind,
  type ChangeDetection,
  type Codec,
  type EntryType,
  type Manifest,
  type ManifestEntry,
  type ManifestFooter,
  type ManifestHeader,
  type ParentLink,
  type Selection,
  type SkippedEntry,
} from './format/manifest.js';
export { backup, type BackupPluginOptions } from './gulp/backup-plugin.js';
export { backupTask, verifyTask, restoreTask, pruneTask, type BackupTask, type BackupTaskOptions, type RestoreTaskOptions, type Task } from './gulp/tasks.js';
export { pruneBackups, type PruneOptions, type PruneResult, type PrunedBackup } from './engine/chain/prune.js';
export type { RetentionPolicy } from './engine/chain/retention.js';
export { verify, type VerifyPluginOptions } from './gulp/verify-plugin.js';
export { restore, type RestorePluginOptions } from './gulp/restore-plugin.js';
