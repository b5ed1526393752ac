/** This package's name and version, as recorded in manifests (a test keeps them equal to package.json's). */
export const TOOL = { name: 'gulp-backup', version: '0.1.0' } as const;
