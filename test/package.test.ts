/**
 * The package as a user gets it: `npm pack`, installed into a fresh project beside gulp 5 (from
 * npm's cache, as `npm ci` filled it), then a gulpfile.mjs that uses the task, the plugin with the
 * README's options, verify and restore, run by gulp.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { execa } from 'execa';
import { tempDir, writeTree } from './helpers/tree.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

const GULPFILE = `
import gulp from 'gulp';
import { pipeline } from 'node:stream/promises';
import { backup, backupTask, restoreTask, verifyTask } from 'gulp-backup';

export const nightly = backupTask({ sources: ['src'], out: 'backups', exclude: ['*.log'] });
export const snapshot = () =>
  pipeline(gulp.src('dist/**', { encoding: false, read: false, resolveSymlinks: false }), backup({ name: 'dist' }), gulp.dest('snapshots'));
export const check = verifyTask('backups');
export const rollback = restoreTask('snapshots/dist.manifest.jsonl', { to: 'restored' });
export default gulp.series(nightly, snapshot, check, rollback);
`;

describe('the packed package, installed into a fresh gulp 5 project', function () {
  this.timeout(300_000);

  it('packs what a user needs (LICENSE, README, dist with its sources in the maps, the bin), installs without a warning of ours, and works from a gulpfile', async () => {
    const packs = await tempDir();
    const packed = await execa('npm', ['pack', '--json', '--pack-destination', packs], { cwd: ROOT });
    const [info] = JSON.parse(String(packed.stdout)) as [{ filename: string; files: { path: string }[] }];
    const files = info.files.map((file) => file.path);
    expect(files).to.include.members(['LICENSE', 'README.md', 'package.json', 'bin/gulp-backup.js', 'dist/command/bin.js', 'dist/index.js', 'dist/index.d.ts']);
    expect(files.filter((path) => path.startsWith('test/') || path.startsWith('src/') || path.endsWith('.tgz'))).to.deep.equal([]);
    const map = JSON.parse(await readFile(join(ROOT, 'dist/index.js.map'), 'utf8')) as { sourcesContent?: string[] };
    expect(map.sourcesContent?.[0], 'source maps embed their sources (src/ is not shipped)').to.be.a('string');

    const project = await tempDir();
    await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'fresh', private: true, type: 'module' }));
    const install = await execa('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', join(packs, info.filename), 'gulp@5'], { cwd: project });
    expect(String(install.stderr)).to.not.match(/gulp-backup/);
    await writeTree(project, { 'src/app.js': 'app', 'src/debug.log': 'log', 'dist/app.js': 'built', 'dist/logo.bin': Buffer.from([0, 255, 7]) });
    await writeFile(join(project, 'gulpfile.mjs'), GULPFILE);
    const gulp = await execa('npx', ['gulp'], { cwd: project, reject: false });
    expect(gulp.exitCode, String(gulp.stdout) + String(gulp.stderr)).to.equal(0);
    expect(String(gulp.stdout)).to.match(/Backup .*backups\/backup-.*\.tar\.gz \(full\)/);
    expect(String(gulp.stdout)).to.match(/^\[[\d:]+\] OK .*backup-.*\.tar\.gz/m);
    expect(await readFile(join(project, 'restored/logo.bin'))).to.deep.equal(Buffer.from([0, 255, 7]));
    const cli = await execa('npx', ['gulp-backup', '--version'], { cwd: project });
    expect(String(cli.stdout).trim()).to.equal((JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version);
  });
});
