/**
 * A file rewritten in place while it is read must never be stored as a version that never existed
 * without being flagged `changedDuringBackup`, however close the writes fall to the read (racy-window.ts).
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createBackup, restoreBackup } from '../../src/index.js';
import { loadManifest } from '../helpers/archive.js';
import { tempDir, writeTree } from '../helpers/tree.js';
import { readFile } from 'node:fs/promises';
import { racyWaitMs } from '../../src/engine/write/racy-window.js';

/**
 * Rewrites each file in place, over and over, each version one byte value throughout, in one
 * write call: a reader can only see two versions mixed while a write is under way. (A writer that
 * stops half-way through a version leaves that mix on disk as the file's real content, which no
 * backup tool can tell from a version; on a loaded two-core machine a writer of many small writes
 * does stop half-way, for longer than the racy window.)
 */
const WRITER = `
import os, sys, random
random.seed(int(sys.argv[1]))
paths = sys.argv[2:]
version = 0
while True:
    version = (version + 1) % 250
    path = random.choice(paths)
    size = os.path.getsize(path)
    fd = os.open(path, os.O_WRONLY)
    os.pwrite(fd, bytes([version + 1]) * size, 0)
    os.close(fd)
`;

describe('engine: torn reads (a writer rewriting files in place)', () => {
  it('waits out the racy window for a file written in this very millisecond (its mtime a fraction ahead of Date.now())', () => {
    expect(racyWaitMs(1_000.7, 1_000)).to.be.closeTo(100.7, 1e-9); // was 0: read at once, unflagged
    expect(racyWaitMs(1_000, 1_050)).to.equal(50);
    expect(racyWaitMs(1_000, 1_100)).to.equal(0);
    expect(racyWaitMs(60_000, 1_000)).to.equal(0); // a mtime well in the future cannot be waited out
  });

  for (const seed of [1, 2]) {
    it(`never stores an unflagged version that never existed (seed ${seed})`, async () => {
      const root = await tempDir();
      const files = { 'data/small.bin': Buffer.alloc(192 * 1024, 1), 'data/large.bin': Buffer.alloc(3 * 1024 * 1024, 1) };
      await writeTree(root, files);
      const writer = spawn('python3', ['-c', WRITER, String(seed), ...Object.keys(files).map((p) => join(root, p))], { stdio: 'ignore' });
      const versions = new Set<number>();
      try {
        for (let run = 0; run < 12; run++) {
          const made = await createBackup({ sources: ['data'], cwd: root, out: join(root, 'out'), retries: 1 });
          const manifest = await loadManifest(made.manifestPath);
          const target = await tempDir();
          await restoreBackup(made.manifestPath, { to: target });
          for (const path of Object.keys(files)) {
            const bytes = await readFile(join(target, path));
            const whole = bytes.every((byte) => byte === bytes[0]);
            const flagged = manifest.entries.find((e) => e.path === path)?.changedDuringBackup === true;
            versions.add(bytes[0]!);
            expect(whole || flagged, `${path} in run ${run}: a torn version, unflagged`).to.equal(true);
          }
        }
      } finally {
        writer.kill('SIGKILL');
      }
      // The writer was at work: the backups saw several versions.
      expect(versions.size).to.be.greaterThan(1);
    });
  }
});
