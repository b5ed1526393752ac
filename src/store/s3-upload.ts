/**
 * Writing an S3 object in two steps, as a file on disk is written and then renamed: `seal()`
 * uploads every part (a multipart upload, invisible until completed), `place()` completes it, so
 * the archive, its checksum and the manifest appear in that order and a failed run shows nothing.
 * `@aws-sdk/lib-storage`'s `Upload` completes as soon as the stream ends, which would show an
 * archive before we decide it is whole; hence this small uploader (docs/DESIGN-DECISIONS.md §S3).
 *
 * Memory is bounded: parts in flight × part size. Each part carries its Content-MD5, which the
 * server checks; the whole object is checked by its size once placed, and by the SHA-256 in the
 * manifest when verified. A file that fits in one part is sent with one PutObject.
 */
import { createHash } from 'node:crypto';
import { outputWriteError } from '../errors.js';
import type { StoreWriter } from './backup-store.js';
import type { S3Connection } from './s3-connection.js';
import { MAX_PART_SIZE } from './s3-settings.js';

interface UploadedPart {
  PartNumber: number;
  ETag: string;
}

export class S3Upload implements StoreWriter {
  private part: Buffer;
  private filled = 0;
  private written = 0;
  private partNumber = 0;
  private uploadId: string | undefined;
  private readonly parts: UploadedPart[] = [];
  readonly doneWithBuffersOnWrite = true; // write copies into the part buffer
  private readonly inFlight = new Set<Promise<void>>();
  private readonly spare: Buffer[] = [];
  private failure: unknown;
  private state: 'open' | 'sealed' | 'placed' | 'discarded' = 'open';

  constructor(
    private readonly connection: S3Connection,
    private readonly bucket: string,
    private readonly key: string,
    readonly location: string,
  ) {
    this.part = Buffer.allocUnsafeSlow(this.partSize(1));
  }

  async write(buffers: Buffer[]): Promise<void> {
    this.throwIfFailed();
    for (const buffer of buffers) {
      for (let at = 0; at < buffer.length; ) {
        const copied = buffer.copy(this.part, this.filled, at);
        this.filled += copied;
        at += copied;
        if (this.filled === this.part.length) await this.sendPart();
      }
    }
  }

  /** Seals and places; a file that fits in one part is sent with one PutObject. */
  async commit(): Promise<void> {
    if (this.state === 'open' && this.uploadId === undefined) {
      this.throwIfFailed();
      await this.putWhole();
      return;
    }
    await this.seal();
    await this.place();
  }

  /**
   * Every byte on the server, nothing visible yet: what is left to `place()` is one small request.
   * (A replace removes the old manifest between the two, so the bytes must be safe first.)
   */
  async seal(): Promise<void> {
    if (this.state !== 'open') return;
    if (this.uploadId === undefined || this.filled > 0) await this.sendPart();
    await Promise.all(this.inFlight);
    this.throwIfFailed();
    this.state = 'sealed';
  }

  /** Makes the object visible under its name, replacing one that was there. */
  async place(): Promise<void> {
    if (this.state === 'open') await this.seal();
    const parts = [...this.parts].sort((a, b) => a.PartNumber - b.PartNumber);
    await this.request('completing', (sdk) => new sdk.CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: this.key, UploadId: this.uploadId, MultipartUpload: { Parts: parts } })).catch(
      (error: unknown) => {
        // A retried completion whose first try went through finds the upload gone (NoSuchUpload):
        // the HEAD below tells whether the object is there, whole.
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      },
    );
    this.state = 'placed';
    // A server that assembled the parts wrongly is caught here rather than at the next verify.
    const head = await this.request<{ ContentLength?: number }>('checking', (sdk) => new sdk.HeadObjectCommand({ Bucket: this.bucket, Key: this.key })).catch(
      (error: unknown) => {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        throw outputWriteError(this.location, new Error('the upload was completed, but the object is not there'));
      },
    );
    if (head.ContentLength !== this.written) {
      throw outputWriteError(this.location, new Error(`the server stored ${head.ContentLength} bytes where ${this.written} were sent`));
    }
  }

  private async putWhole(): Promise<void> {
    const body = this.part.subarray(0, this.filled);
    const digest = md5Digest(body);
    await this.sendChecked('writing', digest, (sdk) =>
      new sdk.PutObjectCommand({ Bucket: this.bucket, Key: this.key, Body: body, ContentLength: body.length, ContentMD5: digest.toString('base64'), ...this.objectSettings() }),
    );
    this.connection.counters.bytesWritten += body.length;
    this.state = 'placed';
  }

  /** Forgets the upload: its parts are deleted on the server (a placed object stays). */
  async discard(): Promise<void> {
    if (this.state === 'placed' || this.state === 'discarded') return;
    this.state = 'discarded';
    await Promise.allSettled(this.inFlight);
    if (this.uploadId === undefined) return;
    const uploadId = this.uploadId;
    // Best effort: a server without AbortMultipartUpload keeps the parts until a lifecycle rule clears them.
    await this.request('aborting the upload of', (sdk) => new sdk.AbortMultipartUploadCommand({ Bucket: this.bucket, Key: this.key, UploadId: uploadId })).catch(() => {});
  }

  /** Part sizes double every 1,000 parts: any archive fits S3's 10,000 parts, small ones use little memory. */
  private partSize(partNumber: number): number {
    return Math.min(MAX_PART_SIZE, this.connection.settings.partSize * 2 ** Math.floor((partNumber - 1) / 1000));
  }

  private objectSettings() {
    const { storageClass, serverSideEncryption, sseKmsKeyId } = this.connection.settings;
    return {
      ...(storageClass ? { StorageClass: storageClass as never } : {}),
      ...(serverSideEncryption ? { ServerSideEncryption: serverSideEncryption as never } : {}),
      ...(sseKmsKeyId ? { SSEKMSKeyId: sseKmsKeyId } : {}),
    };
  }

  private async sendPart(): Promise<void> {
    if (this.uploadId === undefined) {
      const created = await this.request<{ UploadId?: string }>('starting the upload of', (sdk) =>
        new sdk.CreateMultipartUploadCommand({ Bucket: this.bucket, Key: this.key, ...this.objectSettings() }),
      );
      this.uploadId = created.UploadId;
    }
    const partNumber = ++this.partNumber;
    const buffer = this.part;
    const body = buffer.subarray(0, this.filled);
    this.written += body.length;
    this.filled = 0;
    const digest = md5Digest(body);
    const sent = this.sendChecked(`uploading part ${partNumber} of`, digest, (sdk) =>
      new sdk.UploadPartCommand({ Bucket: this.bucket, Key: this.key, UploadId: this.uploadId, PartNumber: partNumber, Body: body, ContentLength: body.length, ContentMD5: digest.toString('base64') }),
    ).then(
      (result) => {
        this.parts.push({ PartNumber: partNumber, ETag: result.ETag ?? '' });
        this.connection.counters.bytesWritten += body.length;
        if (buffer.length === this.partSize(this.partNumber + 1)) this.spare.push(buffer);
      },
      (error: unknown) => {
        this.failure ??= error;
      },
    );
    const tracked = sent.finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
    const size = this.partSize(partNumber + 1);
    while (this.inFlight.size >= this.connection.settings.concurrency) await Promise.race(this.inFlight);
    this.throwIfFailed();
    this.part = this.spare.pop() ?? Buffer.allocUnsafeSlow(size);
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure instanceof Error && 'code' in this.failure ? this.failure : outputWriteError(this.location, this.failure);
  }

  /**
   * Sends a body and checks what the server says it stored. Servers check Content-MD5, but not all
   * of them (s3rver does not); where the answer's ETag is the body's MD5 (not with SSE-KMS or
   * SSE-C, whose ETags are something else), a different one means the bytes were damaged on the
   * way, and the body is sent again.
   */
  private async sendChecked(what: string, digest: Buffer, command: Parameters<S3Connection['send']>[2]): Promise<{ ETag?: string }> {
    for (let attempt = 1; ; attempt++) {
      const result = await this.request<StoredAnswer>(what, command);
      if (!storedOtherBytes(result, digest)) return result;
      if (attempt >= this.connection.settings.maxAttempts) {
        throw outputWriteError(this.location, new Error(`the server stored other bytes than were sent (ETag ${result.ETag}, MD5 ${digest.toString('hex')}), ${attempt} times`));
      }
      this.connection.counters.retries++;
    }
  }

  private request<T>(what: string, command: Parameters<S3Connection['send']>[2]): Promise<T> {
    return this.connection.send<T>(what, this.location, command);
  }
}

interface StoredAnswer {
  ETag?: string;
  ServerSideEncryption?: string;
  SSECustomerAlgorithm?: string;
}

/** Whether an answer's ETag says the server stored bytes whose MD5 is not `digest`. */
function storedOtherBytes(answer: StoredAnswer, digest: Buffer): boolean {
  const etag = answer.ETag?.replaceAll('"', '').toLowerCase();
  if (!etag || !/^[0-9a-f]{32}$/.test(etag)) return false; // not an MD5 (a multipart ETag, or none)
  if (answer.SSECustomerAlgorithm || answer.ServerSideEncryption?.startsWith('aws:kms')) return false; // ETag is not the MD5 then
  return etag !== digest.toString('hex');
}

function md5Digest(bytes: Buffer): Buffer {
  return createHash('md5').update(bytes).digest();
}

/** The Content-MD5 header of a body: the server refuses it when its bytes differ. */
export function md5(bytes: Buffer): string {
  return md5Digest(bytes).toString('base64');
}
