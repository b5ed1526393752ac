/**
 * The digest a restore proves each file against: its SHA-256 when the backup recorded one (the
 * worker that inflates a block takes that one on the way), else the first the backup recorded
 * (`hashes: ['md5']`), so that a file is never restored unproven while its manifest holds a digest.
 */
import type { ManifestEntry } from '../../format/manifest.js';
import { HASH_ALGORITHMS, type HashAlgorithm } from '../options.js';

export interface ExpectedDigest {
  algorithm: HashAlgorithm;
  hex: string;
}

const NAMES: Record<HashAlgorithm, string> = { sha256: 'SHA-256', sha1: 'SHA-1', sha512: 'SHA-512', md5: 'MD5' };

export function expectedDigest(hashes: ManifestEntry['hashes']): ExpectedDigest | undefined {
  if (!hashes) return undefined;
  for (const algorithm of HASH_ALGORITHMS) {
    const hex = hashes[algorithm];
    if (typeof hex === 'string') return { algorithm, hex };
  }
  return undefined;
}

/** `SHA-256`, `MD5`: as a refusal names the digest that did not match. */
export function digestName(algorithm: HashAlgorithm): string {
  return NAMES[algorithm];
}
