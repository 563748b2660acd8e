// The same Node app as node-app.mjs, as CommonJS (`require`). Runs with `node examples/node-app.cjs`.
const { mkdtemp, rm } = require('node:fs/promises');
const os = require('node:os');
const path = require('node:path');

const { ApifyClient } = require('apify-kv-client');
const { startServer } = require('apify-kv-client/server');

async function main() {
  const storageDir = process.env.APIFY_API_BASE_URL ? null : await mkdtemp(path.join(os.tmpdir(), 'node-app-'));
  const server = storageDir ? await startServer({ port: 0, storageDir }) : null;
  try {
    const client = new ApifyClient({ baseUrl: process.env.APIFY_API_BASE_URL || server.url, token: process.env.APIFY_TOKEN });
    // apify-client v2's names work too.
    const store = await client.keyValueStores.getOrCreate('node-app-cjs-example');
    const kv = client.keyValueStore(store.id);
    await kv.setRecord({ key: 'greeting', value: { hello: 'from CommonJS' } });
    const record = await kv.getRecord('greeting');
    console.log('greeting:', JSON.stringify(record && record.value));
    for await (const { key } of kv.listKeys()) console.log('key', key);
  } finally {
    if (server) await server.close();
    if (storageDir) await rm(storageDir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
