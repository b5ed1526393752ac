/** Every example, run end to end in a temporary folder with this package installed as `gulp-backup`. */
import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { tempDir, writeTree } from './helpers/tree.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** A folder with the example's files, node_modules/gulp-backup → this package, and its bins on PATH. */
async function project(example: string): Promise<{ dir: string; env: NodeJS.ProcessEnv }> {
  const dir = await tempDir();
  await cp(join(ROOT, 'examples', example), dir, { recursive: true });
  await mkdir(join(dir, 'node_modules/.bin'), { recursive: true });
  await symlink(ROOT, join(dir, 'node_modules/gulp-backup'));
  await symlink(join(ROOT, 'node_modules/gulp'), join(dir, 'node_modules/gulp'));
  // The CLI from the sources, through tsx, so the test needs no build.
  const bin = join(dir, 'node_modules/.bin/gulp-backup');
  await writeFile(bin, `#!/bin/sh\nexec node --import ${import.meta.resolve('tsx')} ${join(ROOT, 'src/cli/bin.ts')} "$@"\n`, { mode: 0o755 });
  return { dir, env: { ...process.env, PATH: `${join(dir, 'node_modules/.bin')}:${process.env.PATH}` } };
}

describe('examples', () => {
  it('project-build: gulp snapshots dist before build overwrites it (full, then incremental), gulp rollback restores it', async function () {
    this.timeout(120_000);
    const { dir, env } = await project('project-build');
    await writeTree(dir, { 'dist/app.js': 'the release that works\n' });
    // The gulpfile imports gulp-backup as a user's would: the compiled package (`npm ci` builds it).
    const gulp = (...args: string[]) => execa(process.execPath, [join(ROOT, 'node_modules/gulp/bin/gulp.js'), ...args], { cwd: dir, env, reject: false });
    await writeTree(dir, { 'dist/logo.bin': { content: Buffer.alloc(4096, 7), mtime: 1_600_000_000 } });
    const first = await gulp();
    expect(first.exitCode, String(first.stderr) + String(first.stdout)).to.equal(0);
    expect(String(first.stdout)).to.match(/\(full\)/);
    const firstBuild = await readFile(join(dir, 'dist/app.js'), 'utf8');
    expect(firstBuild).to.not.equal('the release that works\n');
    // The second run backs up the first build incrementally: only app.js changed.
    const second = await gulp();
    expect(second.exitCode, String(second.stderr) + String(second.stdout)).to.equal(0);
    expect(String(second.stdout)).to.match(/\(incremental\)\n.*incremental on .*: files 0 new, 1 changed, 0 deleted, 1 unchanged/);
    expect((await gulp('verify')).exitCode).to.equal(0);
    await writeTree(dir, { 'dist/chunk-from-a-later-build.js': 'stray' });
    const rollback = await gulp('rollback');
    expect(rollback.exitCode, String(rollback.stdout)).to.equal(0);
    expect(await readFile(join(dir, 'dist/app.js'), 'utf8')).to.equal(firstBuild);
    expect(await readFile(join(dir, 'dist/logo.bin'))).to.deep.equal(Buffer.alloc(4096, 7));
    expect(existsSync(join(dir, 'dist/chunk-from-a-later-build.js')), 'delete: true').to.equal(false);
    expect(existsSync(join(dir, 'gulpfile.mjs'))).to.equal(true);
    // A damaged backup fails `gulp verify`: the report in the log, each damaged file named once,
    // then the error's first line, as the CLI says it (no stack trace).
    // The incremental's archive, which holds the app.js that the second build wrote.
    const manifests = (await readdir(join(dir, 'backups'))).filter((name) => name.endsWith('.manifest.jsonl'));
    const headers = await Promise.all(manifests.map(async (name) => JSON.parse((await readFile(join(dir, 'backups', name), 'utf8')).split('\n')[0]!) as { kind: string; archive: string }));
    const archive = join(dir, 'backups', headers.find((header) => header.kind === 'incremental')!.archive);
    const bytes = await readFile(archive);
    bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 0xff;
    await writeFile(archive, bytes);
    const damaged = await gulp('verify');
    expect(damaged.exitCode).to.equal(1);
    expect(String(damaged.stderr)).to.match(/BackupError: DAMAGED .*\(the details are in the log above\)$/m);
    expect(String(damaged.stderr)).not.to.match(/^\s+at /m);
    const output = String(damaged.stdout) + String(damaged.stderr);
    expect(output.match(/damaged dist\/app\.js: /g)).to.have.length(1);
  });

  it('ci-snapshot: create, upload, check with sha256sum and verify, restore', async () => {
    const { dir, env } = await project('ci-snapshot');
    await writeTree(dir, { 'build/app.bin': Buffer.from([0, 1, 2, 255]), 'reports/junit.xml': '<testsuite/>' });
    const run = await execa('bash', ['snapshot.sh'], { cwd: dir, env: { ...env, RUN_ID: '42' }, reject: false });
    expect(run.exitCode, String(run.stderr)).to.equal(0);
    expect(String(run.stdout)).to.match(/ci-42\.tar\.gz: OK/);
    expect(String(run.stdout)).to.match(/^OK /m);
    expect(await readFile(join(dir, 'restored/build/app.bin'))).to.deep.equal(Buffer.from([0, 1, 2, 255]));
  });

  it('predeploy: npm scripts snapshot dist before the deploy, and roll it back', async () => {
    const { dir, env } = await project('predeploy');
    await writeTree(dir, { 'dist/index.html': '<h1>good release</h1>\n' });
    const deploy = await execa('npm', ['run', 'deploy', '--silent'], { cwd: dir, env, reject: false });
    expect(deploy.exitCode, String(deploy.stderr)).to.equal(0);
    expect(await readFile(join(dir, 'dist/index.html'), 'utf8')).to.equal('<h1>broken release</h1>\n');
    expect(existsSync(join(dir, 'dist/broken-chunk.js'))).to.equal(true);
    const rollback = await execa('npm', ['run', 'rollback', '--silent'], { cwd: dir, env, reject: false });
    expect(rollback.exitCode, String(rollback.stderr)).to.equal(0);
    expect(await readFile(join(dir, 'dist/index.html'), 'utf8')).to.equal('<h1>good release</h1>\n');
    expect(existsSync(join(dir, 'dist/broken-chunk.js')), 'restore --delete').to.equal(false);
    expect(String(rollback.stdout)).to.match(/deleted dist\/broken-chunk\.js: not in the backup/);
    // A second deploy replaces the snapshot (--replace): no rm -f first, no "already exists".
    const again = await execa('npm', ['run', 'deploy', '--silent'], { cwd: dir, env, reject: false });
    expect(again.exitCode, String(again.stderr)).to.equal(0);
    expect((await readdir(join(dir, 'backups'))).sort()).to.deep.equal(['predeploy.manifest.jsonl', 'predeploy.tar.gz', 'predeploy.tar.gz.sha256']);
  });
});
