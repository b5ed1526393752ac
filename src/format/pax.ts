/**
 * pax extended header records (POSIX.1-2001): `"<length> <keyword>=<value>\n"`, where length
 * counts the whole record in bytes. Values are kept as bytes: a name may be any bytes when the
 * header says `hdrcharset=BINARY` (GNU tar writes non-UTF-8 names so), and decoding them as UTF-8
 * would lose them.
 */

export type PaxRecords = Map<string, Buffer>;

/** Encodes records in the order given; values are strings (UTF-8) or raw bytes. */
export function encodePaxRecords(records: ReadonlyArray<readonly [string, string | Buffer]>): Buffer {
  const parts: Buffer[] = [];
  for (const [key, value] of records) {
    const body = Buffer.concat([Buffer.from(` ${key}=`), typeof value === 'string' ? Buffer.from(value) : value, Buffer.from('\n')]);
    // The length field counts its own digits: grow it until it is stable.
    let length = body.length + 1;
    while (String(length).length + body.length !== length) length = String(length).length + body.length;
    parts.push(Buffer.from(String(length)), body);
  }
  return Buffer.concat(parts);
}

/**
 * Decodes a pax body. Records that are malformed end the parse (as GNU tar does, with what came
 * before kept); a keyword with an empty value removes an earlier one (POSIX: "delete").
 */
export function decodePaxRecords(body: Buffer, into: PaxRecords = new Map()): PaxRecords {
  let at = 0;
  while (at < body.length) {
    if (body[at] === 0) break; // NUL padding after the last record
    const space = body.indexOf(0x20, at);
    if (space === -1) break;
    const length = Number(body.toString('latin1', at, space));
    if (!Number.isSafeInteger(length) || length <= space - at + 1 || at + length > body.length || body[at + length - 1] !== 0x0a) break;
    const record = body.subarray(space + 1, at + length - 1);
    const equals = record.indexOf(0x3d);
    if (equals > 0) {
      const key = record.toString('utf8', 0, equals);
      const value = Buffer.from(record.subarray(equals + 1));
      // PAX sparse 0.0 repeats these two in pairs: kept in order as one map (`GNU.sparse.map`'s form).
      if (key === 'GNU.sparse.offset' || key === 'GNU.sparse.numbytes') {
        const map = into.get('GNU.sparse.map');
        into.set('GNU.sparse.map', map ? Buffer.concat([map, Buffer.from(','), value]) : value);
      } else if (value.length === 0) into.delete(key);
      else into.set(key, value);
    }
    at += length;
  }
  return into;
}

/**
 * A pax time (`1700000000.123456789`, `-12.5`) in nanoseconds, exactly; undefined when it is not
 * a decimal number (GNU tar then keeps the ustar time).
 */
export function paxTimeNs(value: Buffer | undefined): bigint | undefined {
  if (value === undefined) return undefined;
  const match = /^(-?)(\d{1,20})(?:\.(\d*))?$/.exec(value.toString('latin1'));
  if (!match) return undefined;
  const [, sign, whole, fraction = ''] = match;
  const ns = BigInt(whole!) * 1_000_000_000n + BigInt((fraction.slice(0, 9) || '0').padEnd(9, '0'));
  return sign === '-' ? -ns : ns;
}

/** Nanoseconds as a pax time: whole seconds, and the fraction without trailing zeros. */
export function formatPaxTime(ns: bigint): string {
  const negative = ns < 0n;
  const abs = negative ? -ns : ns;
  const fraction = (abs % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '');
  return `${negative ? '-' : ''}${abs / 1_000_000_000n}${fraction ? `.${fraction}` : ''}`;
}
