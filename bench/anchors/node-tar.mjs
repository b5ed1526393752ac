// node-tar's create with gzip level 6, as a whole process: node bench/anchors/node-tar.mjs CWD DIR OUT
import { c } from 'tar';
const [cwd, dir, out] = process.argv.slice(2);
await c({ gzip: { level: 6 }, file: out, cwd, portable: false }, [dir]);
