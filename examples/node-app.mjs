// A Node app (ES module) using the client: create a store, write, read, list and delete records.
//
// It talks to the API at APIFY_API_BASE_URL (with APIFY_TOKEN), e.g. the Apify platform
// (https://api.apify.com) or a server started by `npx apify-kv serve`. Without it, it starts a
// local server of its own over a temporary folder, so `node examples/node-app.mjs` runs anywhere.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { ApifyClient, isApifyArgumentError } from 'apify-kv-client';
import { startServer } from 'apify-kv-client/server';

const storageDir = process.env.APIFY_API_BASE_URL ? null : await mkdtemp(path.join(os.tmpdir(), 'node-app-'));
const server = storageDir ? await startServer({ port: 0, storageDir }) : null;

try {
  const client = new ApifyClient({ baseUrl: process.env.APIFY_API_BASE_URL ?? server.url, token: process.env.APIFY_TOKEN });
  const kvs = client.keyValueStores;

  const store = await kvs.getOrCreateStore({ storeName: 'node-app-example' });
  client.setOptions({ storeId: store.id }); // the default store of the calls below

  await kvs.putRecord({ key: 'config', body: { retries: 3 } }); // JSON
  await kvs.putRecord({ key: 'notes', body: 'plain text' }); // text/plain
  await kvs.putRecord({ key: 'pixel', body: new Uint8Array([137, 80, 78, 71]), contentType: 'image/png' });

  const config = await kvs.getRecord({ key: 'config' });
  console.log('config:', JSON.stringify(config?.body), config?.contentType);

  for await (const { key, size } of kvs.iterateKeys()) console.log(`key ${key} (${size} bytes)`);

  await kvs.deleteRecord({ key: 'notes' });
  console.log('notes after delete:', await kvs.getRecord({ key: 'notes' })); // null

  try {
    await kvs.putRecord({ key: 'not a valid key', body: 1 }); // refused before anything is sent
  } catch (error) {
    if (!isApifyArgumentError(error)) throw error;
    console.log('refused:', error.argument, error.type);
  }
} finally {
  await server?.close();
  if (storageDir) await rm(storageDir, { recursive: true, force: true });
}
