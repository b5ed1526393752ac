// A local S3 protocol server for bench/s3.ts: s3rver on 127.0.0.1, bucket `bench`, data under argv[2].
// Prints its endpoint on the first line of stdout, then serves until killed.
import S3rver from 's3rver';
import { S3Client, CreateBucketCommand } from '@aws-sdk/client-s3';

const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: process.argv[2] });
const { port } = await server.run();
const endpoint = `http://127.0.0.1:${port}`;
const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
await client.send(new CreateBucketCommand({ Bucket: 'bench' })).catch(() => {});
console.log(endpoint);
