/**
 * One S3 client per set of settings, loaded on first use (the SDK costs ~100 ms to load; local
 * backups never pay it). Every request goes through `send`, which counts the SDK's retries and
 * turns its errors into ours: a missing bucket named, refused credentials explained (never
 * printed), a server that keeps failing reported with what to check.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { StoreError } from '../errors.js';
import { missingFileError } from './backup-store.js';
import type { ResolvedS3Settings } from './s3-settings.js';

type Sdk = typeof import('@aws-sdk/client-s3');

/** Requests and retries, for the statistics. */
export interface StoreCounters {
  requests: number;
  retries: number;
  bytesRead: number;
  bytesWritten: number;
}

export class S3Connection {
  readonly counters: StoreCounters = { requests: 0, retries: 0, bytesRead: 0, bytesWritten: 0 };
  private loaded: Promise<{ sdk: Sdk; client: S3Client }> | undefined;
  private readonly buckets = new Map<string, Promise<void>>();

  constructor(readonly settings: ResolvedS3Settings) {}

  /** The SDK and the client, loaded once. */
  sdk(): Promise<{ sdk: Sdk; client: S3Client }> {
    this.loaded ??= (async () => {
      const sdk = await import('@aws-sdk/client-s3');
      const { endpoint, region, forcePathStyle, maxAttempts, credentials, idleTimeout } = this.settings;
      const client = new sdk.S3Client({
        ...(endpoint ? { endpoint } : {}),
        // A bucket in another region answers with a redirect, which the SDK then follows.
        region: region ?? (process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || 'us-east-1'),
        followRegionRedirects: true,
        forcePathStyle,
        maxAttempts,
        ...(credentials ? { credentials } : {}),
        // Uploads carry Content-MD5, which every S3-compatible server checks; the SDK's default
        // (aws-chunked bodies with trailing CRC32) is stored as the object's bytes by some of them.
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
        // A connection silent for idleTimeout is dropped and the request retried; no limit on a
        // whole request, which a large part on a slow link may need.
        requestHandler: { connectionTimeout: 10_000, socketTimeout: idleTimeout },
      });
      // Bodies are signed as UNSIGNED-PAYLOAD, as the SDK signs streams: SigV4 would otherwise
      // hash every part with SHA-256 on this thread, a second pass over the archive, while the
      // part's Content-MD5 already makes the server check its bytes.
      client.middlewareStack.add(
        (next) => async (args) => {
          const request = args.request as { headers?: Record<string, string>; body?: unknown };
          if (request.headers && Buffer.isBuffer(request.body) && request.headers['content-md5']) request.headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
          return next(args);
        },
        { step: 'build', name: 'gulpBackupUnsignedPayload' },
      );
      return { sdk, client };
    })();
    return this.loaded;
  }

  /**
   * Sends a command built from the SDK; `what` says what it was for (`reading s3://b/x`), in errors.
   * A 404 on `location` becomes ENOENT, as a missing file on disk.
   */
  async send<T>(what: string, location: string, command: (sdk: Sdk) => object): Promise<T> {
    const { sdk, client } = await this.sdk();
    this.counters.requests++;
    try {
      const result = (await client.send(command(sdk) as never)) as T & { $metadata?: { attempts?: number } };
      this.counters.retries += Math.max(0, (result.$metadata?.attempts ?? 1) - 1);
      return result;
    } catch (error) {
      this.counters.retries += Math.max(0, ((error as { $metadata?: { attempts?: number } }).$metadata?.attempts ?? 1) - 1);
      throw this.explain(error, what, location);
    }
  }

  /**
   * Proves the bucket is there and ours to use, once per bucket: a HEAD on a missing bucket's key
   * says only "404". HeadBucket's refusals have no body, so an expired token (400) or a refused key
   * (403) is asked again as a one-key listing, whose answer names the reason.
   */
  bucketReady(bucket: string, location: string): Promise<void> {
    let ready = this.buckets.get(bucket);
    if (!ready) {
      ready = this.send<unknown>('opening', location, (sdk) => new sdk.HeadBucketCommand({ Bucket: bucket })).then(
        () => undefined,
        async (error: unknown) => {
          if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw this.noSuchBucket(bucket, location);
          const status = ((error as { cause?: { $metadata?: { httpStatusCode?: number } } }).cause?.$metadata?.httpStatusCode);
          if (status === 400 || status === 403) await this.send('opening', location, (sdk) => new sdk.ListObjectsV2Command({ Bucket: bucket, MaxKeys: 1 }));
          throw error;
        },
      );
      this.buckets.set(bucket, ready);
    }
    return ready;
  }

  noSuchBucket(bucket: string, location: string): StoreError {
    const where = this.settings.endpoint ? ` at ${this.settings.endpoint}` : '';
    return new StoreError('STORE_NOT_FOUND', `The bucket ${bucket} does not exist${where} (${location}). Create it, or check the bucket's name and the endpoint.`, {
      path: location,
    });
  }

  explain(error: unknown, what: string, location: string): Error {
    if (error instanceof StoreError) return error;
    const failure = error as { name?: string; message?: string; Code?: string; $metadata?: { httpStatusCode?: number; attempts?: number } };
    const name = failure.Code ?? failure.name ?? 'Error';
    const status = failure.$metadata?.httpStatusCode;
    if (name === 'NoSuchBucket') return this.noSuchBucket(location.replace(/^s3:\/\/([^/]+).*$/, '$1'), location);
    if (name === 'NoSuchKey' || name === 'NotFound' || status === 404) return missingFileError(location, error);
    if (DENIED.has(name) || status === 403 || status === 401) {
      return new StoreError(
        'STORE_ACCESS_DENIED',
        `S3 refused ${what} ${location} (${[name === 'Unknown' ? '' : name, status ? `HTTP ${status}` : ''].filter(Boolean).join(', ')}). Check the credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or the machine's role), that they have not expired, and that they may use this bucket.`,
        { path: location, cause: error },
      );
    }
    if (name === 'AbortError' || name === 'AbortedError') return error as Error;
    const attempts = failure.$metadata?.attempts ?? 1;
    return new StoreError(
      'STORE_UNAVAILABLE',
      `S3 failed ${what} ${location}${attempts > 1 ? ` after ${attempts} attempts` : ''} (${name}${status ? `, HTTP ${status}` : ''}: ${failure.message ?? 'no message'}). Check the endpoint and the network, then run again.`,
      { path: location, cause: error },
    );
  }
}

const DENIED = new Set([
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'TokenRefreshRequired',
  'InvalidToken',
  'CredentialsProviderError',
  'AllAccessDisabled',
  'Forbidden',
]);
