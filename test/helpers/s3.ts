/**
 * A real S3 protocol server (s3rver) on 127.0.0.1, talked to by the real AWS SDK, behind a small
 * proxy that injects faults (throttling, 5xx, refused credentials, connections reset mid-request
 * or mid-response, slow answers) and counts what crosses the wire.
 */
import { once } from 'node:events';
import { utimes } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import S3rver from 's3rver';
import { S3Client, CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import type { S3Settings } from '../../src/index.js';
import { tempDir } from './tree.js';

// The SDK warns once per process that its 2027 releases will need Node.js 22; true, and not what these tests are about.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export const ACCESS_KEY = 'S3RVER';
export const SECRET_KEY = 'S3RVER-secret-never-printed';

export type FaultAction = 'slow-down' | 'internal-error' | 'denied' | 'expired' | 'reset-request' | 'reset-response' | 'delay' | 'stall' | 'corrupt-request';

export interface Fault {
  /** Which requests: a method, and a test of the URL (path and query). */
  method?: string;
  url?: (url: string) => boolean;
  action: FaultAction;
  /** How many matching requests it hits (default 1). */
  times?: number;
}

export interface SeenRequest {
  method: string;
  url: string;
  status: number;
  /** Bytes of the response body sent to the client. */
  bytesOut: number;
  /** Bytes of the request body received from the client. */
  bytesIn: number;
}

export class S3TestServer {
  readonly requests: SeenRequest[] = [];
  /** Requests being answered at once, and the most seen since the last `takeRequests`. */
  private inFlight = 0;
  maxInFlight = 0;
  private readonly faults: (Fault & { left: number })[] = [];
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: S3rver,
    private readonly proxy: http.Server,
    readonly endpoint: string,
    readonly directEndpoint: string,
    readonly bucket: string,
  ) {}

  static async start(bucket = 'backups'): Promise<S3TestServer> {
    const directory = await tempDir('gulp-backup-s3-');
    const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory });
    const { port } = (await server.run()) as AddressInfo;
    const directEndpoint = `http://127.0.0.1:${port}`;
    const proxy = http.createServer();
    proxy.listen(0, '127.0.0.1');
    await once(proxy, 'listening');
    const endpoint = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    const self = new S3TestServer(server, proxy, endpoint, directEndpoint, bucket);
    proxy.on('request', (request: http.IncomingMessage, response: http.ServerResponse) => void self.forward(request, response, port));
    proxy.on('connection', (socket: Socket) => {
      self.sockets.add(socket);
      socket.on('close', () => self.sockets.delete(socket));
    });
    await self.client().send(new CreateBucketCommand({ Bucket: bucket }));
    return self;
  }

  /** Settings for the engine, through the proxy. */
  settings(extra: S3Settings = {}): S3Settings {
    return { endpoint: this.endpoint, region: 'us-east-1', credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY }, ...extra };
  }

  /** `s3://bucket/prefix`. */
  location(prefix: string): string {
    return `s3://${this.bucket}/${prefix}`;
  }

  /** A client straight to the server, past the proxy: what is stored, as stored. */
  client(): S3Client {
    return new S3Client({
      endpoint: this.directEndpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  async getObject(key: string): Promise<Buffer> {
    const response = await this.client().send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    return Buffer.from(await response.Body!.transformToByteArray());
  }

  async putObject(key: string, body: Buffer | string): Promise<void> {
    await this.client().send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: typeof body === 'string' ? Buffer.from(body) : body }));
  }

  /** Sets an object's LastModified `ms` back, where s3rver keeps it: its file's mtime on the server's disk. */
  async age(key: string, ms: number): Promise<void> {
    const store = (this.server as unknown as { store: { getResourcePath(bucket: string, key: string, resource: string): string } }).store;
    const then = new Date(Date.now() - ms);
    await utimes(store.getResourcePath(this.bucket, key, 'object'), then, then);
  }

  async keys(prefix: string): Promise<string[]> {
    const listed = await this.client().send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix }));
    return (listed.Contents ?? []).map((item) => item.Key!).sort();
  }

  inject(fault: Fault): void {
    this.faults.push({ ...fault, left: fault.times ?? 1 });
  }

  clearFaults(): void {
    this.faults.length = 0;
  }

  /** Requests seen since the last call (and forgets them). */
  takeRequests(): SeenRequest[] {
    this.maxInFlight = 0;
    return this.requests.splice(0);
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.proxy.close(resolve));
    await this.server.close();
  }

  private faultFor(request: http.IncomingMessage): FaultAction | undefined {
    const fault = this.faults.find((f) => f.left > 0 && (!f.method || f.method === request.method) && (!f.url || f.url(request.url ?? '')));
    if (!fault) return undefined;
    fault.left--;
    return fault.action;
  }

  private async forward(request: http.IncomingMessage, response: http.ServerResponse, port: number): Promise<void> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    response.on('close', () => this.inFlight--);
    const seen: SeenRequest = { method: request.method ?? '', url: request.url ?? '', status: 0, bytesOut: 0, bytesIn: 0 };
    this.requests.push(seen);
    const action = this.faultFor(request);
    if (action === 'slow-down' || action === 'internal-error' || action === 'denied' || action === 'expired') {
      for await (const chunk of request) seen.bytesIn += (chunk as Buffer).length;
      const [status, code, message] =
        action === 'slow-down'
          ? [503, 'SlowDown', 'Please reduce your request rate.']
          : action === 'denied'
            ? [403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.']
            : action === 'expired'
              ? [400, 'ExpiredToken', 'The provided token has expired.']
              : [500, 'InternalError', 'We encountered an internal error. Please try again.'];
      seen.status = status;
      response.writeHead(status, { 'content-type': 'application/xml' });
      response.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`);
      return;
    }
    if (action === 'reset-request') {
      // Half the body arrives, then the connection drops.
      let received = 0;
      const wanted = Number(request.headers['content-length'] ?? 0) / 2;
      await new Promise<void>((resolve) => {
        request.on('data', (chunk: Buffer) => {
          received += chunk.length;
          if (received < wanted) return;
          request.socket.destroy();
          resolve();
        });
        request.on('close', resolve);
      });
      seen.bytesIn = received;
      return;
    }
    if (action === 'stall') {
      // Takes the request and never answers: only the client's idle timeout ends it.
      request.resume();
      return;
    }
    if (action === 'delay') await new Promise((resolve) => setTimeout(resolve, 300));
    const upstream = http.request({ host: '127.0.0.1', port, method: request.method, path: request.url, headers: request.headers });
    let flipped = action !== 'corrupt-request';
    request.on('data', (chunk: Buffer) => {
      seen.bytesIn += chunk.length;
      // One bit flipped on the wire, the length kept: only a checksum can tell.
      if (!flipped && chunk.length > 0) {
        chunk[chunk.length >> 1]! ^= 0x01;
        flipped = true;
      }
    });
    request.pipe(upstream);
    const answer = (await once(upstream, 'response'))[0] as http.IncomingMessage;
    seen.status = answer.statusCode ?? 0;
    response.writeHead(answer.statusCode ?? 500, answer.headers);
    let sent = 0;
    const cutAt = action === 'reset-response' ? Math.floor(Number(answer.headers['content-length'] ?? 0) / 2) : Infinity;
    for await (const chunk of answer) {
      const bytes = chunk as Buffer;
      if (sent + bytes.length >= cutAt) {
        response.write(bytes.subarray(0, cutAt - sent));
        seen.bytesOut += cutAt - sent;
        // Flush what was written, then drop the connection mid-body.
        await new Promise((resolve) => setTimeout(resolve, 20));
        response.socket?.destroy();
        return;
      }
      response.write(bytes);
      sent += bytes.length;
      seen.bytesOut += bytes.length;
    }
    response.end();
  }
}
