/**
 * The stores of a run, from locations: a path is a folder on disk, `s3://bucket/prefix` a prefix
 * in a bucket reached with the run's S3 settings (one client for the whole run).
 */
import type { BackupStore } from './backup-store.js';
import { isS3Location, nameOf, parentLocation, splitS3Location } from './location.js';
import { LocalStore } from './local-store.js';
import { S3Connection, type StoreCounters } from './s3-connection.js';
import { resolveS3Settings, type S3Settings } from './s3-settings.js';
import { S3Store } from './s3-store.js';

export class Stores {
  private connection: S3Connection | undefined;

  constructor(private readonly s3Settings?: S3Settings) {
    if (s3Settings !== undefined) resolveS3Settings(s3Settings); // a bad setting fails before anything runs
  }

  /** The store that is the folder (or prefix) `location`. */
  folder(location: string): BackupStore {
    if (!isS3Location(location)) return new LocalStore(location);
    const { bucket, key } = splitS3Location(location);
    return new S3Store(this.s3(), bucket, key);
  }

  /** The store that holds the file `location`, and its name there. */
  file(location: string): { store: BackupStore; name: string } {
    return { store: this.folder(parentLocation(location)), name: nameOf(location) };
  }

  /** Requests and retries made to S3 so far (zeros when none was): a copy, to give `since` later. */
  counters(): StoreCounters {
    return { ...(this.connection?.counters ?? { requests: 0, retries: 0, bytesRead: 0, bytesWritten: 0 }) };
  }

  /** What was asked of S3 since `before` (one set of stores may serve several runs). */
  since(before: StoreCounters): StoreCounters {
    const now = this.counters();
    return { requests: now.requests - before.requests, retries: now.retries - before.retries, bytesRead: now.bytesRead - before.bytesRead, bytesWritten: now.bytesWritten - before.bytesWritten };
  }

  private s3(): S3Connection {
    this.connection ??= new S3Connection(resolveS3Settings(this.s3Settings));
    return this.connection;
  }
}

/** Stores with the S3 settings of the environment alone, for callers that were given none. */
export const defaultStores = new Stores();

/** The stores for these settings (checked now): the shared default when there are none. */
export function storesFor(s3: S3Settings | undefined): Stores {
  return s3 === undefined ? defaultStores : new Stores(s3);
}
