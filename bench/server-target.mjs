// One server under test for bench/server.mjs, in its own process: `ours` is the project's server
// on the storage folder; `bare` is the cheapest node:http server that answers the same requests
// correctly over the same files (a record read must see another process's write, so it touches
// the file per request; lists and metadata may come from memory, as an index's would):
//   GET record     fs.promises.readFile of the record's file per request
//   HEAD record    fs.promises.stat of the file per request
//   GET keys       a page of 1,000 keys from a list read once at start, JSON.stringify'd per
//                  request, with plain record URLs (ours are signed, so its pages are larger)
//   GET store      the store's metadata read once at start, JSON.stringify'd per request
//   PUT record     write + fsync + rename of the body (no folder fsync, no metadata file)
// Prints nothing; sends `{ url }` to the parent once listening, `{ cpu }` when asked.
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

// `dist`: the build whose server is `ours`.
const [kind, storageDir, storeFolder, dist] = process.argv.slice(2);
const storeDir = path.join(storageDir, 'key_value_stores', storeFolder);
// Bare PUTs land beside the storage, never in a store.
const putDir = path.join(storageDir, 'bare-puts');
const ROUTE = /^\/v2\/key-value-stores\/([^/?]+)(?:\/(keys|records)(?:\/([^/?]+))?)?(?:\?.*)?$/;
const TYPES = { json: 'application/json; charset=utf-8', bin: 'application/octet-stream', txt: 'text/plain' };

async function startBare() {
  // Record files by key, and the sorted key list, read once (the bench writes no new keys to read).
  const files = new Map();
  const keys = [];
  for (const name of (await fsp.readdir(storeDir)).sort()) {
    if (name.startsWith('.') || name.startsWith('__') || name.endsWith('.__metadata__.json')) continue;
    const dot = name.lastIndexOf('.');
    const key = dot > 0 ? name.slice(0, dot) : name;
    const ext = dot > 0 ? name.slice(dot + 1) : 'bin';
    const { size } = await fsp.stat(path.join(storeDir, name));
    files.set(key, { file: path.join(storeDir, name), type: TYPES[ext] ?? 'application/octet-stream' });
    keys.push({ key, size });
  }
  await fsp.mkdir(putDir, { recursive: true });
  const storeJson = JSON.parse(await fsp.readFile(path.join(storeDir, '__metadata__.json'), 'utf8'));

  const server = http.createServer(async (req, res) => {
    try {
      const m = ROUTE.exec(req.url);
      if (!m) return void res.writeHead(404).end();
      const [, , part, key] = m;
      const base = `http://${req.headers.host}/v2/key-value-stores/${m[1]}`;
      if (!part && req.method === 'GET') {
        const body = JSON.stringify({ data: storeJson });
        return void res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) }).end(body);
      }
      if (part === 'keys') {
        const items = keys.slice(0, 1000).map((k) => ({ key: k.key, size: k.size, recordPublicUrl: `${base}/records/${k.key}` }));
        const body = JSON.stringify({ data: { items, count: items.length, limit: 1000, exclusiveStartKey: null, isTruncated: keys.length > 1000, nextExclusiveStartKey: null } });
        return void res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) }).end(body);
      }
      if (part === 'records' && key && req.method === 'PUT') {
        const chunks = [];
        for await (const chunk of req) chunks.push(chunk);
        const temp = path.join(putDir, `.bare-${randomBytes(8).toString('hex')}`);
        const handle = await fsp.open(temp, 'w');
        try {
          await handle.writeFile(Buffer.concat(chunks));
          await handle.sync();
        } finally {
          await handle.close();
        }
        await fsp.rename(temp, path.join(putDir, `${key}.json`));
        return void res.writeHead(201, { 'content-type': 'application/json; charset=utf-8', 'content-length': 2 }).end('{}');
      }
      const entry = part === 'records' && files.get(key);
      if (!entry) return void res.writeHead(404).end();
      if (req.method === 'HEAD') {
        const { size } = await fsp.stat(entry.file);
        return void res.writeHead(200, { 'content-type': entry.type, 'content-length': size }).end();
      }
      const body = await fsp.readFile(entry.file);
      res.writeHead(200, { 'content-type': entry.type, 'content-length': body.length }).end(body);
    } catch (err) {
      res.writeHead(500).end(String(err));
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${server.address().port}`;
}

async function startOurs() {
  const { startServer } = await import(pathToFileURL(path.join(dist, 'server', 'index.js')).href);
  const server = await startServer({ host: '127.0.0.1', port: 0, storageDir });
  process.on('SIGTERM', () => server.close().then(() => process.exit(0)));
  return server.url;
}

const url = kind === 'bare' ? await startBare() : await startOurs();
if (kind === 'bare') process.on('SIGTERM', () => process.exit(0));
// The parent asks for this process's CPU time around each run (CPU per request is steadier than
// requests per second on a busy machine).
process.on('message', (m) => {
  if (m === 'cpu') {
    const { user, system } = process.cpuUsage();
    process.send({ cpu: user + system });
  }
});
process.send({ url });
