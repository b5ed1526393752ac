/**
 * Seeded mutations for the fuzzed-archive tests: damage that a parser must meet with a report or a
 * BackupError, never a crash, a hang or a write outside the target. Header mutations recompute the
 * header's checksum, so that they reach the field parsers instead of stopping at the checksum;
 * manifest edits recompute the digest, as someone editing a manifest on purpose would.
 */
import { createHash } from 'node:crypto';

/** A small deterministic generator (the same seed gives the same mutations on every machine). */
export class SeededRandom {
  constructor(private state: number) {}

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state * 1_103_515_245 + 12_345) & 0x7fffffff;
    return this.state / 0x80000000;
  }

  below(limit: number): number {
    return Math.floor(this.next() * limit);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)]!;
  }
}

/** Offsets of the blocks that look like tar headers (a ustar magic, or octal in the checksum field). */
function headerOffsets(tar: Buffer): number[] {
  const found: number[] = [];
  for (let at = 0; at + 512 <= tar.length; at += 512) {
    const block = tar.subarray(at, at + 512);
    const ustar = block.subarray(257, 262).toString('latin1') === 'ustar';
    if (ustar || (block[0] !== 0 && /^[0-7 \0]+$/.test(block.subarray(148, 156).toString('latin1')))) found.push(at);
  }
  return found;
}

function fixChecksum(tar: Buffer, at: number): void {
  let sum = 8 * 0x20;
  for (let i = 0; i < 512; i++) if (i < 148 || i >= 156) sum += tar[at + i]!;
  tar.write(`${sum.toString(8).padStart(6, '0')}\0 `, at + 148, 'latin1');
}

/** Values that break numeric and name fields: overflow, base-256, signs, empty, non-octal. */
const FIELD_VALUES = ['0', '77777777777', '99999999999', '-1', '\x80\0\0\0\0\0\0\0\0\0\x01\0', '\xff'.repeat(12), '', ' ', '1e9', '00000001000'];
/** [offset, length] of name, mode, uid, gid, size, mtime, typeflag, linkname, magic, prefix. */
const FIELDS: readonly (readonly [number, number])[] = [[0, 100], [100, 8], [108, 8], [116, 8], [124, 12], [136, 12], [156, 1], [157, 100], [257, 6], [345, 155]];
/** Every typeflag GNU tar, POSIX and star define, and NUL. */
const TYPE_FLAGS = '0123456789ADGIKLMNSVXgx\0';

/** One random mutation of a tar stream, and what it was (for the failure message). */
export function mutateTar(tar: Buffer, random: SeededRandom): { bytes: Buffer; what: string } {
  const bytes = Buffer.from(tar);
  const headers = headerOffsets(bytes);
  const header = headers.length > 0 ? random.pick(headers) : undefined;
  const kind = random.below(7);
  if (kind === 0 && header !== undefined) {
    const [offset, length] = random.pick(FIELDS);
    const value = random.pick(FIELD_VALUES);
    bytes.fill(0, header + offset, header + offset + length);
    bytes.write(value.slice(0, length), header + offset, 'latin1');
    fixChecksum(bytes, header);
    return { bytes, what: `field at ${offset} of the header at ${header} set to ${JSON.stringify(value)}` };
  }
  if (kind === 1 && header !== undefined) {
    const flag = random.pick([...TYPE_FLAGS]);
    bytes.write(flag, header + 156, 'latin1');
    fixChecksum(bytes, header);
    return { bytes, what: `type of the header at ${header} set to ${JSON.stringify(flag)}` };
  }
  if (kind === 2 && header !== undefined) {
    const offset = random.below(512);
    bytes[header + offset] = random.below(256);
    fixChecksum(bytes, header);
    return { bytes, what: `byte ${offset} of the header at ${header}` };
  }
  if (kind === 3) {
    // Digits, spaces, '=' and newlines: pax record lengths and long-name bodies that lie.
    const at = random.below(bytes.length);
    for (let i = 0; i < 1 + random.below(8) && at + i < bytes.length; i++) bytes[at + i] = ' 0123456789=\n'.charCodeAt(random.below(13));
    for (const start of headers) if (start <= at && at < start + 512) fixChecksum(bytes, start);
    return { bytes, what: `pax-like bytes at ${at}` };
  }
  if (kind === 4) {
    const cut = random.below(bytes.length);
    return { bytes: bytes.subarray(0, cut), what: `cut at ${cut}` };
  }
  if (kind === 5) {
    const at = random.below(bytes.length);
    const count = 1 + random.below(600);
    return { bytes: Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + count)]), what: `${count} bytes removed at ${at}` };
  }
  const at = random.below(bytes.length);
  bytes[at] = random.below(256);
  return { bytes, what: `byte ${at} set at random` };
}

/** Values that a hostile or broken manifest may hold in any field. */
const JSON_VALUES: unknown[] = [null, -1, 0, 1e20, 2 ** 53, 1.5, '', 'x', '../../outside', '/absolute', 'a/../../b', '.', '..', 'a\u0000b', [], {}, true, '9'.repeat(40), { sha256: 'zz' }, 'file', 'directory', 'symlink', 'hardlink'];

/**
 * A manifest with one to three fields of its records (or of objects and arrays inside them) set
 * to hostile values (or removed), its
 * digest computed again so that the edit is not caught by the digest alone.
 */
export function editManifest(text: string, random: SeededRandom): { text: string; what: string } {
  const records = text.trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
  const edits: string[] = [];
  for (let count = 1 + random.below(3); count > 0; count--) {
    const ends = [records[0]!, records.at(-1)!];
    let record = records.length === 2 || random.below(4) === 0 ? random.pick(ends) : records[1 + random.below(records.length - 2)]!;
    let name = String(record.record);
    let key = random.pick(Object.keys(record));
    // Half the time a field inside a nested object or array (a block offset, a hash, the parent link).
    for (let inner = record[key]; inner !== null && typeof inner === 'object' && Object.keys(inner).length > 0 && random.below(2) === 0; inner = record[key]) {
      name = `${name}.${key}`;
      record = inner as Record<string, unknown>;
      key = random.pick(Object.keys(record));
    }
    if (random.below(5) === 0) {
      if (Array.isArray(record)) record.splice(Number(key), 1);
      else delete record[key];
      edits.push(`${name}.${key} removed`);
    } else {
      record[key] = random.pick(JSON_VALUES);
      edits.push(`${name}.${key} = ${JSON.stringify(record[key])}`);
    }
  }
  const footer = records.pop()!;
  delete footer.linesSha256;
  const lines = records.map((record) => `${JSON.stringify(record)}\n`).join('');
  footer.linesSha256 = createHash('sha256').update(lines).digest('hex');
  return { text: `${lines}${JSON.stringify(footer)}\n`, what: edits.join('; ') };
}
