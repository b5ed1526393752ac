/** BackupReader: the one way a backup or a foreign archive is located and read. */
import { expect } from 'chai';
import { copyFile, readFile, readdir, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createBackup } from '../../src/index.js';
import { BackupReader } from '../../src/engine/read/backup-reader.js';
import { pseudoRandomBytes, run, tempDir, writeTree } from '../helpers/tree.js';

const OLD = 1_600_000_000; // seconds: mtimes far outside any racy window

/** The files this process holds open under `folder` (the descriptors in /proc/self/fd). */
async function openFilesUnder(folder: string): Promise<string[]> {
  const targets = await Promise.all((await readdir('/proc/self/fd')).map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => '')));
  return targets.filter((target) => target.startsWith(`${folder}/`));
}

describe('engine/BackupReader', () => {
  let root: string;
  let out: string;

  beforeEach(async () => {
    root = await tempDir();
    out = join(root, 'backups');
    await writeTree(root, {
      'data/a.txt': { content: 'alpha', mtime: OLD },
      'data/b.bin': { content: pseudoRandomBytes(300_000, 4), mtime: OLD },
    });
  });

  it('opens a folder as its newest backup, and an archive alone as an archive without a manifest', async () => {
    await createBackup({ sources: ['data'], cwd: root, out, name: 'full' });
    await writeFile(join(root, 'data/c.txt'), 'new');
    const inc = await createBackup({ sources: ['data'], cwd: root, out, name: 'inc', kind: 'incremental' });

    const newest = await BackupReader.open(out);
    expect(newest.manifestPath).to.equal(inc.manifestPath);
    expect(newest.archivePath).to.equal(inc.archivePath);
    expect(newest.manifest?.header.id).to.equal(inc.id);

    const alone = join(root, 'alone.tar.gz');
    await copyFile(inc.archivePath, alone);
    const archive = await BackupReader.open(alone);
    expect(archive.manifest).to.equal(undefined);
    const paths: string[] = [];
    for await (const entry of archive.entries()) paths.push(entry.path);
    // An incremental archive holds its new file and every folder, not the unchanged files.
    expect(paths).to.deep.equal(['data', 'data/c.txt']);
  });

  it('reads a chain point: holders proven once, each file from the archive that holds it, the chain newest first', async () => {
    const full = await createBackup({ sources: ['data'], cwd: root, out, name: 'full' });
    await writeFile(join(root, 'data/c.txt'), 'new');
    const inc = await createBackup({ sources: ['data'], cwd: root, out, name: 'inc', kind: 'incremental' });

    const reader = await BackupReader.open(inc.manifestPath);
    const { holders, broken } = await reader.holders();
    expect(broken).to.equal(undefined);
    expect([...holders.keys()].sort()).to.deep.equal([full.id, inc.id].sort());
    expect(reader.holders()).to.equal(reader.holders()); // one proof per reader, shared by content() and verify

    const files = reader.manifest!.entries.filter((entry) => entry.type === 'file');
    const content = await reader.content(files, { concurrency: 2 });
    try {
      for (const entry of files) {
        const chunks: Buffer[] = [];
        await content.read(entry, async (bytes) => void chunks.push(Buffer.from(bytes)));
        expect(Buffer.concat(chunks).equals(await readFile(join(root, entry.path))), entry.path).to.equal(true);
      }
    } finally {
      await content.close();
    }

    const { links } = await reader.chain();
    expect(links.map((link) => link.header.id)).to.deep.equal([inc.id, full.id]);
    await writeFile(full.manifestPath, `${(await readFile(full.manifestPath, 'utf8')).trimEnd()} \n`);
    const edited = await (await BackupReader.open(inc.manifestPath)).chain();
    expect(edited.links.map((link) => link.header.id)).to.deep.equal([inc.id]);
    expect(edited.broken?.code).to.equal('PARENT_CHANGED');
  });

  it('leaving the entry stream early closes the archive (return())', async () => {
    // Large enough that the file is still being read when the first entry comes.
    await writeFile(join(root, 'data/z.bin'), pseudoRandomBytes(4_000_000, 5));
    const archive = join(root, 'gnu.tar.gz');
    await run('tar', ['-czf', archive, '-C', root, 'data']);
    const reader = await BackupReader.open(archive);
    const entries = reader.entries();
    const first = await entries.next();
    expect(first.done).to.equal(false);
    expect(await openFilesUnder(root)).to.deep.equal([archive]);
    await entries.return(undefined);
    // The file is closed once the stream's close has run.
    for (let tries = 0; tries < 50 && (await openFilesUnder(root)).length > 0; tries++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(await openFilesUnder(root)).to.deep.equal([]);
  });

  it('refuses to read content of an archive opened without a manifest, saying why', async () => {
    const archive = join(root, 'gnu.tar');
    await run('tar', ['-cf', archive, '-C', root, 'data']);
    const reader = await BackupReader.open(archive);
    expect(() => reader.holders()).to.throw(/needs a manifest.*gnu\.tar was opened without one/);
  });
});
