/** The codecs gulp-backup writes and reads, by name. */
import { BackupError } from '../../errors.js';
import type { Codec } from '../manifest.js';
import type { ArchiveBytes, BlockCodec } from './block-codec.js';
import { gzipCodec } from './gzip-codec.js';
import { noneCodec } from './none-codec.js';
import { zstdCodec } from './zstd-codec.js';

export const CODECS: readonly BlockCodec[] = [gzipCodec, zstdCodec, noneCodec];
export const CODEC_NAMES: readonly Codec[] = CODECS.map((codec) => codec.name);

/** The codec a manifest names; a name this version does not know is a manifest it cannot read. */
export function codecNamed(name: string, where: string): BlockCodec {
  const codec = CODECS.find((known) => known.name === name);
  if (!codec) {
    throw new BackupError('MANIFEST_INVALID', `${where} names codec '${name}', which this version of gulp-backup does not know (it knows ${CODEC_NAMES.join(', ')}). Upgrade gulp-backup.`, {
      path: where,
    });
  }
  return codec;
}

/** The codec, to write with, or the error that says which Node.js it needs. */
export function usableCodec(codec: BlockCodec): BlockCodec {
  const needs = codec.unavailable();
  if (needs !== undefined) {
    throw new BackupError('CODEC_UNAVAILABLE', `codec ${codec.name} needs ${needs}; this is Node.js ${process.version}. Use codec gzip, or a newer Node.js.`);
  }
  return codec;
}

/** The codec, to read `path` with, or the error that says which Node.js it needs. */
export function readableCodec(codec: BlockCodec, path: string): BlockCodec {
  const needs = codec.unavailable();
  if (needs !== undefined) {
    throw new BackupError('ARCHIVE_UNSUPPORTED', `${path} is ${codec.name}-compressed; reading it needs ${needs}; this is Node.js ${process.version}.`, { path });
  }
  return codec;
}

/** The blocked container an archive is in (ours, whose blocks can be read in parallel), if any. */
export async function containerOf(archive: ArchiveBytes): Promise<BlockCodec | undefined> {
  for (const codec of CODECS) if (await codec.recognizes(archive)) return codec;
  return undefined;
}
