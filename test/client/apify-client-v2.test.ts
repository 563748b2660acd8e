/**
 * The apify-client v2 surface against the real local server: one flow run through our
 * `client.keyValueStore(id)` and through the official `apify-client` v2, every result compared;
 * the public URLs of both open records and key lists of a restricted store without a token; and
 * our signatures equal `@apify/utilities`' on the same inputs, in Node and with WebCrypto.
 */
import { createHmacSignature as theirHmac, createStorageContentSignature as theirContentSignature } from '@apify/utilities';
import { ApifyClient as OfficialClient } from 'apify-client';
import { describe, expect, it } from 'vitest';
import { platform as browserPlatform } from '../../src/client/platform/browser.js';
import { platform as nodePlatform } from '../../src/client/platform/node.js';
import { ApifyClient, createHmacSignature, createStorageContentSignature } from '../../src/index.js';
import { startTestServer } from '../server/helpers.js';

const TOKEN = 'v2-surface-token';

/** The calls of the flow, as both clients name them. */
interface V2Like {
  getOrCreate(name: string): Promise<{ id: string }>;
  keyValueStore(id: string): {
    get(): Promise<unknown>;
    update(fields: Record<string, unknown>): Promise<unknown>;
    delete(): Promise<void>;
    listKeys(options?: Record<string, unknown>): Promise<unknown> & AsyncIterable<{ key: string }>;
    getRecord(key: string, options?: Record<string, unknown>): Promise<unknown>;
    recordExists(key: string): Promise<boolean>;
    setRecord(record: { key: string; value: unknown; contentType?: string }): Promise<void>;
    deleteRecord(key: string): Promise<void>;
    getRecordPublicUrl(key: string): Promise<string>;
    createKeysPublicUrl(options?: Record<string, unknown>): Promise<string>;
  };
}

/** A request without a token, as a stranger opening a shared link would send it. */
async function open(url: string): Promise<{ status: number; body: string }> {
  const response = await fetch(url);
  return { status: response.status, body: await response.text() };
}

/** Runs the flow on a store of its own; returns every result, in order. */
async function flow(api: V2Like, name: string): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const created = await api.getOrCreate(name);
  out.created = created;
  const kv = api.keyValueStore(created.id);
  out.restricted = await kv.update({ generalAccess: 'RESTRICTED' });
  out.get = await kv.get();

  const binary = Buffer.from(Array.from({ length: 2000 }, (_, i) => (i * 7) % 256));
  out.setJson = await kv.setRecord({ key: 'data.json', value: { list: [1, 2, 3], text: 'x'.repeat(3000) } });
  out.setText = await kv.setRecord({ key: 'note', value: 'hello' });
  out.setBinary = await kv.setRecord({ key: 'image.png', value: binary, contentType: 'image/png' });
  for (let i = 0; i < 5; i++) await kv.setRecord({ key: `item-${i}`, value: { i } });

  out.json = await kv.getRecord('data.json');
  out.text = await kv.getRecord('note');
  out.binary = await kv.getRecord('image.png', { buffer: true });
  out.missing = await kv.getRecord('nothing-here');
  out.exists = [await kv.recordExists('note'), await kv.recordExists('nothing-here')];

  out.firstPage = await kv.listKeys({ limit: 2 });
  out.prefixPage = await kv.listKeys({ prefix: 'item-', exclusiveStartKey: 'item-1' });
  const all: string[] = [];
  for await (const item of kv.listKeys()) all.push(item.key);
  out.iterated = all;
  const capped: string[] = [];
  for await (const item of kv.listKeys({ limit: 3 })) capped.push(item.key);
  out.iteratedWithLimit = capped;

  // Public URLs open the record and the key list of the restricted store without a token.
  const recordUrl = await kv.getRecordPublicUrl('note');
  const keysUrl = await kv.createKeysPublicUrl({ prefix: 'item-', limit: 2 });
  const expiringUrl = await kv.createKeysPublicUrl({ expiresInSecs: 600 });
  out.openedRecord = await open(recordUrl);
  out.openedKeys = await open(keysUrl);
  out.openedExpiring = (await open(expiringUrl)).status;
  // Without its signature the same link is refused: the store really is restricted.
  out.unsignedRecord = (await open(recordUrl.split('?')[0]!)).status;
  out.urls = [recordUrl, keysUrl];

  out.deleteRecord = await kv.deleteRecord('note');
  out.afterDelete = await kv.getRecord('note');
  out.renamed = await kv.update({ name: `${name}-renamed` });
  out.deleteStore = await kv.delete();
  out.gone = await kv.get();
  out.deleteAgain = await kv.delete();
  return out;
}

/**
 * Replaces what differs by nature between the two runs: ids, names, times, signing keys and
 * signatures (per store), usage counters, and the sizes of JSON records (see below).
 */
function normalize(results: Record<string, unknown>, id: string, name: string): unknown {
  const text = JSON.stringify(results, (_key, value: unknown) => (value instanceof Date ? 'DATE' : value))
    .split(id)
    .join('ID')
    .split(name)
    .join('NAME')
    .replace(/signature=[A-Za-z0-9_-]+/g, 'signature=SIG')
    .replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, 'DATE')
    .replace(/"(readCount|writeCount|deleteCount|listCount)":\d+/g, '"$1":"N"')
    .replace(/"urlSigningSecretKey":"[^"]+"/g, '"urlSigningSecretKey":"KEY"')
    // v2 stores JSON indented, this client compact: the same values, other sizes.
    .replace(/(\\?"(size|s3StorageBytes|storageBytes)\\?"):\d+/g, '$1:0');
  return JSON.parse(text);
}

describe('the apify-client v2 surface', () => {
  it('gives the same result as the official apify-client v2 for every call of one flow', async () => {
    const server = await startTestServer({ token: TOKEN });
    const ours = new ApifyClient({ baseUrl: server.url, token: TOKEN, maxRetries: 1 });
    const theirs = new OfficialClient({ baseUrl: server.url, publicBaseUrl: server.url, token: TOKEN, maxRetries: 1, minDelayBetweenRetriesMillis: 10 });

    const oursApi: V2Like = { getOrCreate: (name) => ours.keyValueStores.getOrCreate(name), keyValueStore: (id) => ours.keyValueStore(id) as never };
    const theirsApi: V2Like = {
      getOrCreate: (name) => theirs.keyValueStores().getOrCreate(name),
      keyValueStore: (id) => theirs.keyValueStore(id) as never,
    };
    const a = await flow(oursApi, 'flow-ours');
    const b = await flow(theirsApi, 'flow-theirs');

    // The flow itself says what it checks: links work, and only when signed.
    expect(a.openedRecord).toEqual({ status: 200, body: 'hello' });
    // Unsigned, a private record is as unknown to an anonymous caller as a missing one.
    expect(a.unsignedRecord).toBe(404);
    expect(a.openedExpiring).toBe(200);
    expect((JSON.parse((a.openedKeys as { body: string }).body) as { data: { items: { key: string }[] } }).data.items.map((i) => i.key)).toEqual([
      'item-0',
      'item-1',
    ]);
    expect(a.missing).toBeUndefined();
    expect(a.iterated).toEqual(['data.json', 'image.png', 'item-0', 'item-1', 'item-2', 'item-3', 'item-4', 'note']);

    const idA = (a.created as { id: string }).id;
    const idB = (b.created as { id: string }).id;
    expect(normalize(a, idA, 'flow-ours')).toEqual(normalize(b, idB, 'flow-theirs'));
  }, 60_000);

  it("gives an unnamed store's name, actId and actRunId as null, as v2 does (though both type them without null)", async () => {
    const server = await startTestServer({ token: TOKEN });
    const ours = new ApifyClient({ baseUrl: server.url, token: TOKEN, maxRetries: 1 });
    const theirs = new OfficialClient({ baseUrl: server.url, token: TOKEN, maxRetries: 1 });
    const fields = (store: { name?: string; actId?: string; actRunId?: string } | undefined) => [store?.name, store?.actId, store?.actRunId];
    const oursCreated = await ours.keyValueStores().getOrCreate();
    const theirsCreated = await theirs.keyValueStores().getOrCreate();
    expect(fields(oursCreated)).toEqual([null, null, null]);
    expect(fields(theirsCreated)).toEqual([null, null, null]);
    // Read back through the other client: the same values whoever made the store.
    expect(fields(await ours.keyValueStore(theirsCreated.id).get())).toEqual(fields(await theirs.keyValueStore(theirsCreated.id).get()));
    expect(fields(await ours.keyValueStores.getStore({ storeId: oursCreated.id }) ?? undefined)).toEqual([null, null, null]);
    // A named store has its name; no Actor run made it.
    expect(fields(await ours.keyValueStores().getOrCreate('named-here'))).toEqual(['named-here', null, null]);
  }, 60_000);

  it('lists stores as an async iterable across pages, as v2 does', async () => {
    const server = await startTestServer({ token: TOKEN });
    const ours = new ApifyClient({ baseUrl: server.url, token: TOKEN, maxRetries: 1 });
    const theirs = new OfficialClient({ baseUrl: server.url, token: TOKEN, maxRetries: 1 });
    for (let i = 0; i < 5; i++) await ours.keyValueStores.getOrCreate(`listed-${i}`);
    const oursNames: string[] = [];
    for await (const store of ours.keyValueStores.listStores({ limit: 2 })) oursNames.push(String(store.name));
    const allOurs: string[] = [];
    for await (const store of ours.keyValueStores.list()) allOurs.push(String(store.name));
    const theirsNames: string[] = [];
    for await (const store of theirs.keyValueStores().list({ limit: 2 }) as AsyncIterable<{ name?: string }>) theirsNames.push(String(store.name));
    expect(oursNames).toEqual(theirsNames);
    expect(allOurs.sort()).toEqual(['listed-0', 'listed-1', 'listed-2', 'listed-3', 'listed-4']);
    expect((await ours.keyValueStores.list({ limit: 2 })).items.map((s) => s.name)).toEqual(oursNames);
  }, 60_000);
});

describe('public-URL signatures', () => {
  const inputs: Array<[string, string]> = [
    ['a-secret-key-of-the-store', 'OUTPUT'],
    ['k', "a(b)'!-_.key"],
    ['ünïcödé-sécret', 'message with spaces and ümlauts'],
    ['0', ''],
  ];

  it('equal @apify/utilities on the same inputs, with node:crypto and with WebCrypto', async () => {
    for (const [secret, message] of inputs) {
      const expected = theirHmac(secret, message);
      expect(await createHmacSignature(secret, message)).toBe(expected);
      // The browser platform's HMAC (WebCrypto) gives the same digest as Node's.
      expect(await browserPlatform.hmacSha256Hex(secret, message)).toBe(await nodePlatform.hmacSha256Hex(secret, message));
    }
  });

  it('sign store contents as @apify/utilities does, never expiring or with an expiry time', async () => {
    for (const [secret] of inputs) {
      const never = await createStorageContentSignature({ resourceId: 'WkzbQMuFYuamGv3YF', urlSigningSecretKey: secret, expiresAt: 0 });
      expect(never).toBe(theirContentSignature({ resourceId: 'WkzbQMuFYuamGv3YF', urlSigningSecretKey: secret }));
      const expiresAt = 1_900_000_000_000;
      const expiring = await createStorageContentSignature({ resourceId: 'id1', urlSigningSecretKey: secret, expiresAt });
      expect(Buffer.from(expiring, 'base64url').toString()).toBe(`0.${expiresAt}.${theirHmac(secret, `0.${expiresAt}.id1`)}`);
    }
  });
});
