import { expect } from 'chai';
import { readFile } from 'node:fs/promises';
import { TOOL } from '../../src/engine/tool.js';

describe('engine/tool', () => {
  it('records the name and version that package.json declares', async () => {
    const packageJson = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { name: string; version: string };
    expect(TOOL).to.deep.equal({ name: packageJson.name, version: packageJson.version });
  });
});
