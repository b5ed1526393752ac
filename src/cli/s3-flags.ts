/**
 * The `--s3-*` flags: how to reach the bucket when a location is `s3://bucket/prefix`. Each
 * defaults to what the AWS CLI would use (AWS_ENDPOINT_URL, AWS_REGION, the credential chain).
 */
import type { Command } from 'commander';
import type { S3Settings } from '../store/s3-settings.js';
import { integerOrRaw } from './parse.js';

export interface S3Flags {
  s3Endpoint?: string;
  s3Region?: string;
  s3PathStyle?: boolean;
  s3StorageClass?: string;
  s3Sse?: string;
  s3KmsKeyId?: string;
  s3PartSize?: string;
  s3Concurrency?: string;
}

/** Adds the flags that reach a bucket; `writes` adds those that shape what is written. */
export function addS3Flags(command: Command, writes = false): Command {
  command
    .option('--s3-endpoint <url>', 'S3-compatible server for s3:// locations: MinIO, R2, Ceph… (default: AWS_ENDPOINT_URL, else AWS)')
    .option('--s3-region <region>', 'region of the bucket (default: AWS_REGION, else us-east-1)')
    .option('--s3-path-style', 'address buckets as endpoint/bucket (the default with --s3-endpoint)')
    .option('--no-s3-path-style', 'address buckets as bucket.endpoint')
    .option('--s3-concurrency <n>', 'requests in flight: parts uploaded, ranges fetched (default: 4)');
  if (writes) {
    command
      .option('--s3-storage-class <class>', 'storage class of the objects written: STANDARD_IA, GLACIER_IR… (default: the bucket\'s)')
      .option('--s3-sse <AES256|aws:kms>', 'server-side encryption of the objects written (default: the bucket\'s)')
      .option('--s3-kms-key-id <id>', 'the KMS key for --s3-sse aws:kms')
      .option('--s3-part-size <size>', "size of the upload parts, at least '5MB' (default: '8MB'; memory is about size × (concurrency + 1))");
  }
  return command;
}

/** The settings the flags give; undefined when none was given (the environment's then apply). */
export function s3SettingsFrom(flags: S3Flags): S3Settings | undefined {
  const settings: S3Settings = {
    ...(flags.s3Endpoint !== undefined ? { endpoint: flags.s3Endpoint } : {}),
    ...(flags.s3Region !== undefined ? { region: flags.s3Region } : {}),
    ...(flags.s3PathStyle !== undefined ? { forcePathStyle: flags.s3PathStyle } : {}),
    ...(flags.s3StorageClass !== undefined ? { storageClass: flags.s3StorageClass } : {}),
    ...(flags.s3Sse !== undefined ? { serverSideEncryption: flags.s3Sse } : {}),
    ...(flags.s3KmsKeyId !== undefined ? { sseKmsKeyId: flags.s3KmsKeyId } : {}),
    ...(flags.s3PartSize !== undefined ? { partSize: flags.s3PartSize } : {}),
    ...(flags.s3Concurrency !== undefined ? { concurrency: integerOrRaw(flags.s3Concurrency)! } : {}),
  };
  return Object.keys(settings).length > 0 ? settings : undefined;
}
