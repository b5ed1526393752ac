/** Hand-made tar archives for attack tests: any path, type, link and declared size, as an attacker would write them. */
import { gzipSync } from 'node:zlib';
import { Header, Pax } from 'tar';

export interface CraftedEntry {
  path: string;
  type?: 'File' | 'Directory' | 'SymbolicLink' | 'Link' | 'FIFO' | 'CharacterDevice';
  body?: string | Buffer;
  linkpath?: string;
  /** The size the header declares, when it should lie. */
  declaredSize?: number;
  mode?: number;
}

function pad(length: number): Buffer {
  return Buffer.alloc((512 - (length % 512)) % 512);
}

export function craftTar(entries: CraftedEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const body = Buffer.from(entry.body ?? '');
    const type = entry.type ?? 'File';
    const size = entry.declaredSize ?? (type === 'File' ? body.length : 0);
    const fields = { path: entry.path, linkpath: entry.linkpath ?? '', type, size, mode: entry.mode ?? 0o644, uid: 0, gid: 0, mtime: new Date(1_600_000_000_000) };
    const ustar = Buffer.alloc(512);
    if (new Header(fields).encode(ustar)) {
      const pax = new Pax({ path: entry.path, ...(entry.linkpath ? { linkpath: entry.linkpath } : {}) }).encode();
      parts.push(pax);
    }
    parts.push(ustar, body, pad(body.length));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

export function craftTarGz(entries: CraftedEntry[]): Buffer {
  return gzipSync(craftTar(entries));
}
