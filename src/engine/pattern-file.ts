/**
 * `--exclude-from FILE`: patterns kept in a file (a `.backupignore`, a `.gitignore`), as `tar -X`,
 * `restic --exclude-file` and `borg --exclude-from` read them: one per line, blank lines and lines
 * that start with `#` skipped, surrounding whitespace (and a CRLF's CR) trimmed. `!` lines take
 * back what earlier ones left out (selection-patterns.ts).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { OptionError } from '../errors.js';

export function patternsFrom(files: readonly string[]): string[] {
  const patterns: string[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(resolve(file), 'utf8');
    } catch (error) {
      throw new OptionError('excludeFrom', file, `a readable file of patterns, one per line (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
    for (const line of text.split('\n')) {
      const pattern = line.trim();
      if (pattern !== '' && !pattern.startsWith('#')) patterns.push(pattern);
    }
  }
  return patterns;
}
