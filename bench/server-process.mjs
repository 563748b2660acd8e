// The server side of the benchmarks, in its own process: `local` is the project's server on
// a temporary file store; `memory` is a minimal in-memory server that speaks just enough of the
// wire contract (create store, put/get record) to measure what the clients themselves cost.
import { createHash } from 'node:crypto';
import http from 'node:http';

const [kind, storageDir] = process.argv.slice(2);

async function startMemoryServer() {
  const records = new Map();
  let nextId = 0;
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url, 'http://x');
      if (req.method === 'POST' && url.pathname === '/v2/key-value-stores') {
        const body = JSON.stringify({ data: { id: `store${nextId++}`, name: url.searchParams.get('name') } });
        res.writeHead(201, { 'content-type': 'application/json; charset=utf-8' }).end(body);
        return;
      }
      const m = /^\/v2\/key-value-stores\/([^/]+)\/records\/([^/]+)$/.exec(url.pathname);
      if (!m) return void res.writeHead(404).end();
      const id = `${m[1]}/${m[2]}`;
      if (req.method === 'PUT') {
        // ETags as the project's server sends them: the MD5 of the stored bytes.
        const body = Buffer.concat(chunks);
        const etag = `"${createHash('md5').update(body).digest('hex')}"`;
        records.set(id, { body, etag, type: req.headers['content-type'] ?? 'application/octet-stream' });
        res.writeHead(201, { 'content-type': 'application/json; charset=utf-8', location: req.url, etag }).end('{}');
      } else if (req.method === 'GET') {
        const rec = records.get(id);
        if (!rec) return void res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"type":"record-not-found","message":"x"}}');
        res.writeHead(200, { 'content-type': rec.type, 'content-length': rec.body.length, etag: rec.etag }).end(rec.body);
      } else {
        res.writeHead(405).end();
      }
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${server.address().port}`;
}

async function startLocalServer() {
  const { startServer } = await import('../dist/server/index.js');
  const server = await startServer({ host: '127.0.0.1', port: 0, storageDir });
  process.on('SIGTERM', () => server.close().then(() => process.exit(0)));
  return server.url;
}

let url;
if (kind === 'memory') {
  url = await startMemoryServer();
  process.on('SIGTERM', () => process.exit(0));
} else {
  url = await startLocalServer();
}
process.send({ url });
