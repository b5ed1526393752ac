/** Locations: paths on disk and s3://bucket/key, with the same path arithmetic on both. */
import { expect } from 'chai';
import { isS3Location, joinLocation, nameOf, parentLocation, relativeLocation, resolveFrom, resolveLocation, splitS3Location } from '../../src/store/location.js';

describe('store/location', () => {
  it('tells S3 locations from paths, and normalizes their keys', () => {
    expect(isS3Location('s3://b/k')).to.equal(true);
    expect(isS3Location('S3://b/k')).to.equal(true);
    expect(isS3Location('./s3:/b')).to.equal(false);
    expect(resolveLocation('s3://bucket/a//b/./c/')).to.equal('s3://bucket/a/b/c');
    expect(resolveLocation('s3://bucket')).to.equal('s3://bucket');
    expect(splitS3Location('s3://bucket/a/../b')).to.deep.equal({ bucket: 'bucket', key: 'b' });
    expect(resolveLocation('backups', '/work')).to.equal('/work/backups');
  });

  it('joins, resolves and splits keys as POSIX paths, never above the bucket', () => {
    expect(joinLocation('s3://b/ci', 'x.manifest.jsonl')).to.equal('s3://b/ci/x.manifest.jsonl');
    expect(joinLocation('s3://b', 'x.tar.gz')).to.equal('s3://b/x.tar.gz');
    expect(resolveFrom('s3://b/ci/new', '../old/x.manifest.jsonl')).to.equal('s3://b/ci/old/x.manifest.jsonl');
    expect(resolveFrom('s3://b/ci', '../../../x')).to.equal('s3://b/x');
    expect(parentLocation('s3://b/ci/x.tar.gz')).to.equal('s3://b/ci');
    expect(parentLocation('s3://b/x.tar.gz')).to.equal('s3://b');
    expect(nameOf('s3://b/ci/x.tar.gz')).to.equal('x.tar.gz');
    expect(nameOf('/tmp/x.tar.gz')).to.equal('x.tar.gz');
  });

  it('has a relative path between two folders only when both are on disk or in one bucket', () => {
    expect(relativeLocation('s3://b/ci/new', 's3://b/ci/old/x.manifest.jsonl')).to.equal('../old/x.manifest.jsonl');
    expect(relativeLocation('/a/new', '/a/old/x.manifest.jsonl')).to.equal('../old/x.manifest.jsonl');
    expect(relativeLocation('s3://b/ci', 's3://other/ci/x.manifest.jsonl')).to.equal(undefined);
    expect(relativeLocation('/a', 's3://b/x.manifest.jsonl')).to.equal(undefined);
  });
});
