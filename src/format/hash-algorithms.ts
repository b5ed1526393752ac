/**
 * The digests a manifest may record for each file: what `hashes` (`--hash`) offers, and all a
 * manifest's header may name (an edited one naming another is refused when read, not passed to
 * `createHash`, which throws on a name it does not know).
 */
export type HashAlgorithm = 'sha256' | 'sha1' | 'sha512' | 'md5';
export const HASH_ALGORITHMS: readonly HashAlgorithm[] = ['sha256', 'sha1', 'sha512', 'md5'];
