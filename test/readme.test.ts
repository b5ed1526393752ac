/**
 * Every TypeScript snippet of the README, run as written in a fresh project where `gulp-backup` is
 * this package: gulpfile snippets load (their options are checked when they load) and their first
 * task runs; the engine snippet runs as a script. An error of a plugin must reach gulp in every
 * pattern the README shows, not end as "Did you forget to signal async completion?".
 */
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { execa } from 'execa';
import { tempDir, writeTree } from './helpers/tree.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const GULP = join(ROOT, 'node_modules/gulp/bin/gulp.js');

async function snippets(): Promise<string[]> {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  return [...readme.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((match) => match[1]!);
}

async function project(): Promise<string> {
  const dir = await tempDir();
  await mkdir(join(dir, 'node_modules'));
  await symlink(ROOT, join(dir, 'node_modules/gulp-backup'));
  await symlink(join(ROOT, 'node_modules/gulp'), join(dir, 'node_modules/gulp'));
  await writeFile(join(dir, 'package.json'), '{ "type": "module" }');
  await writeTree(dir, { 'src/app.js': 'app', 'src/debug.log': 'log', 'assets/logo.bin': Buffer.from([0, 255, 1]), 'dist/app.js': 'built' });
  return dir;
}

function exportsOf(code: string): string[] {
  return [...code.matchAll(/^export const (\w+)/gm)].map((match) => match[1]!);
}

describe('README: every snippet runs as written', function () {
  this.timeout(120_000);

  it('has the snippets this test knows: gulpfiles and the engine script', async () => {
    const all = await snippets();
    expect(all.length).to.be.at.least(5);
    for (const code of all) expect(code, code).to.match(/from 'gulp-backup';/); // each imports what it uses
  });

  it('gulpfile snippets load and their first task runs; a plugin error reaches gulp', async () => {
    for (const code of (await snippets()).filter((snippet) => exportsOf(snippet).length > 0)) {
      const dir = await project();
      await writeFile(join(dir, 'gulpfile.mjs'), code);
      const gulp = (...args: string[]) => execa(process.execPath, [GULP, ...args], { cwd: dir, reject: false });
      const listed = await gulp('--tasks-simple');
      expect(listed.exitCode, code + listed.stderr).to.equal(0);
      expect(String(listed.stdout).trim().split('\n')).to.include.members(exportsOf(code));
      const first = exportsOf(code)[0]!;
      const ran = await gulp(first);
      const output = String(ran.stdout) + String(ran.stderr);
      expect(output, code).to.not.match(/Did you forget to signal async completion/);
      if (/kind: 'incremental', since: 'backups'/.test(code)) {
        // No backup to build on yet: the plugin's error, in gulp's words, and exit 1.
        expect(ran.exitCode, output).to.equal(1);
        expect(output).to.match(/There is no backup in .*backups to build on/);
        // A full backup by the same pipeline, then the snippet builds on it.
        const full = `import gulp from 'gulp';\nimport { pipeline } from 'node:stream/promises';\nimport { backup } from 'gulp-backup';\nexport const full = () => pipeline(gulp.src('dist/**', { read: false, encoding: false }), backup(), gulp.dest('backups'));\n`;
        await writeFile(join(dir, 'full.mjs'), full);
        expect((await gulp('--gulpfile', join(dir, 'full.mjs'), '--cwd', dir, 'full')).exitCode).to.equal(0);
        const again = await gulp(first);
        expect(again.exitCode, String(again.stdout) + String(again.stderr)).to.equal(0);
      } else {
        expect(ran.exitCode, code + output).to.equal(0);
      }
    }
  });

  it('the engine snippet runs as a script', async () => {
    const engine = (await snippets()).find((code) => code.includes('await createBackup('))!;
    const dir = await project();
    await writeFile(join(dir, 'script.mjs'), engine);
    const ran = await execa(process.execPath, ['script.mjs'], { cwd: dir, reject: false });
    expect(ran.exitCode, String(ran.stderr)).to.equal(0);
    expect(String(ran.stdout)).to.match(/true true \[\] \d+ \d+/); // report.ok, restored.ok, no failures, blocks
  });
});

describe('README: a typed gulpfile.ts, loaded through tsx', function () {
  this.timeout(120_000);

  it('the recipe works: tsx installed, .gulp.cjs requiring tsx/cjs, a gulpfile.ts with types', async () => {
    const dir = await project();
    await symlink(join(ROOT, 'node_modules/tsx'), join(dir, 'node_modules/tsx'));
    await writeFile(join(dir, 'package.json'), '{ "private": true }');
    const recipe = (await readFile(join(ROOT, 'README.md'), 'utf8')).match(/^```js\n(\/\/ \.gulp\.cjs[\s\S]*?)^```$/m);
    expect(recipe, 'the README shows .gulp.cjs').to.not.equal(null);
    await writeFile(join(dir, '.gulp.cjs'), recipe![1]!);
    await writeFile(
      join(dir, 'gulpfile.ts'),
      `import { backupTask, type BackupResult } from 'gulp-backup';\nconst out: string = 'backups';\nexport const backup = backupTask({ sources: ['src'], out });\nexport const typed = async (): Promise<BackupResult | undefined> => undefined;\n`,
    );
    const ran = await execa(process.execPath, [GULP, 'backup'], { cwd: dir, reject: false });
    expect(ran.exitCode, String(ran.stdout) + String(ran.stderr)).to.equal(0);
    expect(String(ran.stdout)).to.match(/Backup .*\(full\)/);
  });
});

describe('README: the command-line snippets run as written', function () {
  this.timeout(120_000);

  it('every block of gulp-backup commands runs, in order as a reader follows them, each command exiting 0', async () => {
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    const blocks = [...readme.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((match) => match[1]!.trim().split('\n'));
    const cliBlocks = blocks.filter((lines) => lines.every((line) => line.startsWith('npx gulp-backup ')));
    expect(cliBlocks.length).to.be.at.least(3);
    const dir = await project();
    await mkdir(join(dir, 'node_modules/.bin'), { recursive: true });
    await writeFile(join(dir, 'node_modules/.bin/gulp-backup'), `#!/bin/sh\nexec node ${join(ROOT, 'bin/gulp-backup.js')} "$@"\n`, { mode: 0o755 });
    for (const lines of cliBlocks) {
      for (const line of lines) {
        const command = line.replace(/\s+#.*$/, '');
        const ran = await execa('sh', ['-c', command], { cwd: dir, reject: false, env: { ...process.env, PATH: `${join(dir, 'node_modules/.bin')}:${process.env.PATH}` } });
        expect(ran.exitCode, `${command}\n${String(ran.stdout)}${String(ran.stderr)}`).to.equal(0);
      }
    }
  });
});
