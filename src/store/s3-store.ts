/** Backups under a prefix of an S3 bucket (`s3://bucket/prefix`): one "folder" of objects. */
import { Readable } from 'node:stream';
import type { BackupStore, StoredFile, StoredFileStat, StoreWriter } from './backup-store.js';
import { s3Location } from './location.js';
import type { S3Connection } from './s3-connection.js';
import { S3File, getRange, objectStream, type S3Object } from './s3-object-reader.js';
import { S3Upload, md5 } from './s3-upload.js';

export class S3Store implements BackupStore {
  readonly remote = true;
  readonly location: string;

  constructor(
    readonly connection: S3Connection,
    readonly bucket: string,
    /** The prefix, without leading or trailing slash ('' for the bucket's top). */
    readonly prefix: string,
  ) {
    this.location = s3Location(bucket, prefix);
  }

  locationOf(name: string): string {
    return s3Location(this.bucket, this.keyOf(name));
  }

  async ensure(): Promise<void> {
    await this.ready();
  }

  async isFolder(): Promise<boolean> {
    await this.ready();
    return true;
  }

  async list(): Promise<string[]> {
    await this.ready();
    const names: string[] = [];
    const prefix = this.prefix === '' ? '' : `${this.prefix}/`;
    for (let token: string | undefined, first = true; first || token; first = false) {
      const page = await this.connection.send<{ Contents?: { Key?: string }[]; NextContinuationToken?: string; IsTruncated?: boolean }>('listing', this.location, (sdk) =>
        new sdk.ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, Delimiter: '/', ...(token ? { ContinuationToken: token } : {}) }),
      );
      for (const item of page.Contents ?? []) if (item.Key && item.Key.length > prefix.length) names.push(item.Key.slice(prefix.length));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    }
    return names;
  }

  async stat(name: string): Promise<StoredFileStat | undefined> {
    await this.ready();
    try {
      const head = await this.head(name);
      return { size: head.ContentLength ?? 0, modified: head.LastModified ?? new Date(0) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async open(name: string): Promise<StoredFile> {
    await this.ready();
    const head = await this.head(name);
    return new S3File(this.object(name), head.ContentLength ?? 0);
  }

  stream(name: string): Readable {
    // Opened on first read, so that a missing object is an error of the stream.
    const opened = async function* (this: S3Store) {
      const file = await this.open(name);
      yield* objectStream(this.object(name), file.size) as AsyncIterable<Buffer>;
    };
    return Readable.from(opened.call(this), { objectMode: false });
  }

  async readAll(name: string): Promise<Buffer> {
    const file = await this.open(name);
    return getRange(this.object(name), 0, file.size);
  }

  async create(name: string): Promise<StoreWriter> {
    await this.ready();
    return new S3Upload(this.connection, this.bucket, this.keyOf(name), this.locationOf(name));
  }

  /**
   * A conditional PUT (If-None-Match: *): atomic where the server has conditional writes (AWS since
   * 2024, MinIO, R2, Ceph); a server without them ignores the condition, so a HEAD first narrows
   * the race to the moment between the two requests.
   */
  async createExclusive(name: string, content: string): Promise<boolean> {
    if (await this.stat(name)) return false;
    const body = Buffer.from(content);
    try {
      await this.connection.send('writing', this.locationOf(name), (sdk) =>
        new sdk.PutObjectCommand({ Bucket: this.bucket, Key: this.keyOf(name), Body: body, ContentLength: body.length, ContentMD5: md5(body), IfNoneMatch: '*' }),
      );
      return true;
    } catch (error) {
      const status = ((error as { cause?: { $metadata?: { httpStatusCode?: number } } }).cause?.$metadata?.httpStatusCode);
      if (status === 412 || status === 409) return false;
      throw error;
    }
  }

  /** S3 has no way to set an object's time: the object is written again with its own content. */
  async touch(name: string): Promise<void> {
    let body: Buffer;
    try {
      body = await this.readAll(name);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    await this.connection.send('refreshing', this.locationOf(name), (sdk) =>
      new sdk.PutObjectCommand({ Bucket: this.bucket, Key: this.keyOf(name), Body: body, ContentLength: body.length, ContentMD5: md5(body) }),
    );
  }

  async remove(name: string): Promise<void> {
    await this.ready();
    await this.connection.send('removing', this.locationOf(name), (sdk) => new sdk.DeleteObjectCommand({ Bucket: this.bucket, Key: this.keyOf(name) }));
  }

  /** Aborts the multipart uploads of these names that dead runs left (their parts cost storage until then). */
  async abandonUploads(names: readonly string[]): Promise<void> {
    const keys = new Set(names.map((name) => this.keyOf(name)));
    let uploads: { Key?: string; UploadId?: string }[];
    try {
      const listed = await this.connection.send<{ Uploads?: { Key?: string; UploadId?: string }[] }>('listing the uploads of', this.location, (sdk) =>
        new sdk.ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: this.prefix === '' ? '' : `${this.prefix}/` }),
      );
      uploads = listed.Uploads ?? [];
    } catch {
      return; // a server without the call: a lifecycle rule (README) clears them
    }
    for (const upload of uploads) {
      if (!upload.Key || !keys.has(upload.Key)) continue;
      await this.connection
        .send('aborting the upload of', s3Location(this.bucket, upload.Key), (sdk) => new sdk.AbortMultipartUploadCommand({ Bucket: this.bucket, Key: upload.Key, UploadId: upload.UploadId }))
        .catch(() => {});
    }
  }

  private keyOf(name: string): string {
    return this.prefix === '' ? name : `${this.prefix}/${name}`;
  }

  private object(name: string): S3Object {
    return { connection: this.connection, bucket: this.bucket, key: this.keyOf(name), location: this.locationOf(name) };
  }

  private head(name: string): Promise<{ ContentLength?: number; LastModified?: Date }> {
    return this.connection.send('reading', this.locationOf(name), (sdk) => new sdk.HeadObjectCommand({ Bucket: this.bucket, Key: this.keyOf(name) }));
  }

  private ready(): Promise<void> {
    return this.connection.bucketReady(this.bucket, this.location);
  }
}
