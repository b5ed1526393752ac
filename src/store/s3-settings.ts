/**
 * How to reach S3 (or an S3-compatible server). Everything left out comes from where the AWS CLI
 * finds it: credentials from the SDK's standard chain (environment, shared profile, SSO, instance
 * or container role), the region from `AWS_REGION` (a bucket elsewhere is found by its redirect), the endpoint from
 * `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL`.
 */
import { OptionError } from '../errors.js';
import { optionKeys, rejectUnknownKeys } from '../engine/option-keys.js';
import bytes from 'bytes';

export interface S3Settings {
  /** The server, for MinIO, R2, Ceph, B2… (`http://127.0.0.1:9000`). Default: AWS, or `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL`. */
  endpoint?: string;
  /** Default: `AWS_REGION`, else `us-east-1` (what most S3-compatible servers accept; AWS redirects to a bucket's own). */
  region?: string;
  /** `https://endpoint/bucket/key` rather than `https://bucket.endpoint/key`. Default: true with a custom endpoint, false for AWS. */
  forcePathStyle?: boolean;
  /** The storage class of the objects written (`STANDARD_IA`, `GLACIER_IR`…). Default: the bucket's. */
  storageClass?: string;
  /** Server-side encryption of the objects written: `AES256` or `aws:kms`. Default: the bucket's. */
  serverSideEncryption?: string;
  /** The KMS key for `aws:kms`. */
  sseKmsKeyId?: string;
  /** Size of the first upload parts (it doubles every 1,000 parts, so any archive fits S3's 10,000). Default 8 MiB, at least 5 MiB. */
  partSize?: number | string;
  /** Parts uploaded at once, and ranged reads in flight. Default 4. Memory: about part size × (this + 1). */
  concurrency?: number;
  /** Attempts per request, retries included (throttling, 5xx, reset connections). Default 6. */
  maxAttempts?: number;
  /** Credentials, for callers that hold them; default the SDK's chain. Never printed. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Milliseconds a connection may stay silent before the request is retried. Default 30,000. */
  idleTimeout?: number;
}

export interface ResolvedS3Settings {
  endpoint: string | undefined;
  region: string | undefined;
  forcePathStyle: boolean;
  storageClass: string | undefined;
  serverSideEncryption: string | undefined;
  sseKmsKeyId: string | undefined;
  partSize: number;
  concurrency: number;
  maxAttempts: number;
  credentials: S3Settings['credentials'];
  idleTimeout: number;
}

const S3_KEYS = optionKeys<S3Settings>()(
  'endpoint',
  'region',
  'forcePathStyle',
  'storageClass',
  'serverSideEncryption',
  'sseKmsKeyId',
  'partSize',
  'concurrency',
  'maxAttempts',
  'credentials',
  'idleTimeout',
);

/** S3's smallest part (but the last) and largest. */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
export const MAX_PART_SIZE = 5 * 1024 * 1024 * 1024;

export function resolveS3Settings(settings: S3Settings | undefined, env: NodeJS.ProcessEnv = process.env): ResolvedS3Settings {
  const given = settings ?? {};
  if (given === null || typeof given !== 'object') throw new OptionError('s3', given, 'an object of S3 settings');
  rejectUnknownKeys('s3', given, S3_KEYS);
  const text = (key: keyof S3Settings) => {
    const value = given[key];
    if (value !== undefined && (typeof value !== 'string' || value === '')) throw new OptionError(`s3.${key}`, value, 'a non-empty string');
    return value as string | undefined;
  };
  const endpoint = text('endpoint') ?? (env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined);
  if (endpoint !== undefined && !/^https?:\/\/[^/]+/i.test(endpoint)) {
    throw new OptionError('s3.endpoint', endpoint, 'a URL such as https://s3.example.com or http://127.0.0.1:9000');
  }
  if (given.forcePathStyle !== undefined && typeof given.forcePathStyle !== 'boolean') throw new OptionError('s3.forcePathStyle', given.forcePathStyle, 'true or false');
  const partSize = given.partSize === undefined ? DEFAULT_PART_SIZE : typeof given.partSize === 'string' ? bytes.parse(given.partSize) : given.partSize;
  if (typeof partSize !== 'number' || !Number.isInteger(partSize) || partSize < MIN_PART_SIZE || partSize > MAX_PART_SIZE) {
    throw new OptionError('s3.partSize', given.partSize, 'a size from 5MB to 5GB (S3 refuses smaller parts)');
  }
  const integer = (key: 'concurrency' | 'maxAttempts' | 'idleTimeout', min: number, max: number, fallback: number) => {
    const value = given[key];
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) throw new OptionError(`s3.${key}`, value, `an integer from ${min} to ${max}`);
    return value;
  };
  const credentials = given.credentials;
  if (credentials !== undefined && (typeof credentials?.accessKeyId !== 'string' || typeof credentials.secretAccessKey !== 'string')) {
    throw new OptionError('s3.credentials', '(hidden)', 'an object with accessKeyId and secretAccessKey');
  }
  const serverSideEncryption = text('serverSideEncryption');
  if (serverSideEncryption !== undefined && !['AES256', 'aws:kms', 'aws:kms:dsse'].includes(serverSideEncryption)) {
    throw new OptionError('s3.serverSideEncryption', serverSideEncryption, 'AES256, aws:kms or aws:kms:dsse');
  }
  return {
    endpoint,
    region: text('region'),
    forcePathStyle: given.forcePathStyle ?? endpoint !== undefined,
    storageClass: text('storageClass'),
    serverSideEncryption,
    sseKmsKeyId: text('sseKmsKeyId'),
    partSize,
    concurrency: integer('concurrency', 1, 64, 4),
    maxAttempts: integer('maxAttempts', 1, 20, 6),
    credentials,
    idleTimeout: integer('idleTimeout', 100, 600_000, 30_000),
  };
}

const DEFAULT_PART_SIZE = 8 * 1024 * 1024;
