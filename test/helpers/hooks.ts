import { removeTempDirs } from './tree.js';

export const mochaHooks = {
  async afterAll() {
    await removeTempDirs();
  },
};
