// Stands in for a real deploy: it rewrites dist/, as a deploy that goes wrong would.
import { mkdir, writeFile } from 'node:fs/promises';

await mkdir('dist', { recursive: true });
await writeFile('dist/index.html', '<h1>broken release</h1>\n');
await writeFile('dist/broken-chunk.js', 'throw new Error("the broken release");\n');
