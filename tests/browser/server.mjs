// A small static server for the browser tests: serves dist/, pkg/,
// pkg-test/ and tests/browser/ of the repository on 127.0.0.1, on the port
// given as the first argument (0 or none: any free port); or, given a
// directory as the second argument, that directory at `/` (a built site).
// Prints "listening <port>" once ready. No dependencies.
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const site = process.argv[3];
const root = site ? resolve(site) : resolve(fileURLToPath(new URL('../..', import.meta.url)));
const served = site ? [root + sep] : ['dist', 'pkg', 'pkg-test', 'tests/browser'].map((d) => resolve(root, d) + sep);
const types = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.map': 'application/json',
};

const server = createServer(async (req, res) => {
  let path;
  try {
    path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
  } catch {
    res.writeHead(400).end();
    return;
  }
  const file = resolve(root, '.' + (site && path.endsWith('/') ? path + 'index.html' : path));
  if (req.method !== 'GET' || !served.some((d) => file.startsWith(d))) {
    res.writeHead(404, { 'content-type': 'text/plain' }).end(`not served: ${path}\n`);
    return;
  }
  try {
    const body = await readFile(file);
    res.writeHead(200, {
      'content-type': types[extname(file)] ?? 'application/octet-stream',
      'cache-control': 'no-store',
    });
    res.end(body);
  } catch {
    res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${path}\n`);
  }
});

server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  console.log(`listening ${server.address().port}`);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => server.close(() => process.exit(0)));
