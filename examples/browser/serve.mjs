// Serves the example page and the client's browser bundle, next to a local API server, and
// prints the page's address. Run `node examples/browser/serve.mjs` and open that address.
// (The local server answers pages from this machine's loopback origins without a token.)
import { mkdtemp, readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { startServer } from 'apify-kv-client/server';

const here = path.dirname(fileURLToPath(import.meta.url));
const packageDir = path.dirname(createRequire(import.meta.url).resolve('apify-kv-client/package.json'));
const files = {
  '/': { file: path.join(here, 'index.html'), type: 'text/html; charset=utf-8' },
  '/apify-kv.min.js': { file: path.join(packageDir, 'dist/browser/apify-kv.min.js'), type: 'text/javascript; charset=utf-8' },
};

const api = await startServer({ port: 0, storageDir: await mkdtemp(path.join(os.tmpdir(), 'browser-example-')) });
const pages = createServer(async (req, res) => {
  const entry = files[new URL(req.url ?? '/', 'http://x').pathname];
  if (!entry) return res.writeHead(404).end('not found');
  res.writeHead(200, { 'Content-Type': entry.type }).end(await readFile(entry.file));
});
const port = Number(process.env.PORT ?? 0);
pages.listen(port, '127.0.0.1', () => {
  const { port: real } = pages.address();
  console.log(`Open http://127.0.0.1:${real}/?api=${encodeURIComponent(api.url)}`);
});

const stop = async () => {
  pages.close();
  await api.close();
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
