/**
 * apify-client v2's types: one file written against apify-client 2.25's public types (its
 * client, getRecord overloads, key pages, store objects, errors, options) type-checks against the
 * official package, and unchanged but for the import against this package's published types.
 * Needs `npm run build` first (as `npm test` does).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const cacheDir = path.join(ROOT, 'node_modules/.cache');
mkdirSync(cacheDir, { recursive: true });
const dir = mkdtempSync(path.join(cacheDir, 'v2-types-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Code as a user of apify-client v2 writes it; `MODULE` is the package it imports. */
const V2_FILE = `
import {
  ApifyApiError,
  ApifyClient,
  type ApifyClientOptions,
  type KeyValueClientCreateKeysUrlOptions,
  type KeyValueClientGetRecordOptions,
  type KeyValueClientListKeysOptions,
  type KeyValueClientListKeysResult,
  type KeyValueClientUpdateOptions,
  type KeyValueListItem,
  type KeyValueStore,
  type KeyValueStoreClient,
  type KeyValueStoreCollectionClient,
  type KeyValueStoreCollectionClientGetOrCreateOptions,
  type KeyValueStoreCollectionClientListOptions,
  type KeyValueStoreCollectionListResult,
  type KeyValueStoreRecord,
  type KeyValueStoreRecordOptions,
  type PaginatedList,
  type ReturnTypeFromOptions,
  type KeyValueStoreStats,
} from 'MODULE';
import type { STORAGE_GENERAL_ACCESS } from '@apify/consts';
import { createWriteStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { JsonValue } from 'type-fest';

/** A function of the user's that takes Node streams. */
function byteCount(stream: Readable): Promise<number> {
  return stream.toArray().then((chunks) => chunks.length);
}

/** apify-client 2.25's KeyValueStore, field for field: a store must fit it as a whole. */
interface V2Store {
  id: string;
  name?: string;
  title?: string;
  userId: string;
  username?: string;
  createdAt: Date;
  modifiedAt: Date;
  accessedAt: Date;
  actId?: string;
  actRunId?: string;
  stats?: KeyValueStoreStats;
  generalAccess?: STORAGE_GENERAL_ACCESS | null;
  urlSigningSecretKey?: string | null;
  keysPublicUrl: string;
}

const options: ApifyClientOptions = { token: 'token', baseUrl: 'http://127.0.0.1:8010', maxRetries: 3, minDelayBetweenRetriesMillis: 100, timeoutSecs: 30, publicBaseUrl: 'http://127.0.0.1:8010', userAgentSuffix: ['my-app/1.0'] };
const client = new ApifyClient(options);
const hooked = new ApifyClient({
  ...options,
  requestInterceptors: [
    (config) => {
      config.params = { ...config.params, source: 'v2' };
      config.headers = { ...config.headers, 'X-Trace': '1' };
      return config;
    },
    async (config) => ({ ...config, timeout: 1000 }),
  ],
});

export async function run(): Promise<unknown[]> {
  const store: KeyValueStore = await client.keyValueStores().getOrCreate('my-store', { schema: { version: 1 } });
  const stores: KeyValueStoreCollectionListResult = await client.keyValueStores().list({ limit: 10, offset: 0, desc: true, unnamed: true });
  const total: number = stores.total;
  for await (const found of client.keyValueStores().list()) console.log(found.id);
  const kv: KeyValueStoreClient = client.keyValueStore(store.id);
  await hooked.keyValueStore(store.id).get();
  const collection: KeyValueStoreCollectionClient = client.keyValueStores();
  const listOptions2: KeyValueStoreCollectionClientListOptions = { limit: 5, offset: 1, desc: false, unnamed: false, ownership: 'ownedByMe' };
  const paged: PaginatedList<KeyValueStore> = await collection.list(listOptions2);
  const createOptions: KeyValueStoreCollectionClientGetOrCreateOptions = { schema: { title: 'S' } };
  await collection.getOrCreate('other', createOptions);
  const asBuffer: ReturnTypeFromOptions<{ buffer: true }> | undefined = (await kv.getRecord('image', { buffer: true }))?.value;
  const got: KeyValueStore | undefined = await kv.get();
  const id: string = store.id;
  const created: Date = store.createdAt;
  const title: string | undefined = store.title;
  const owner: string = store.userId;
  const ownerName: string | undefined = store.username;
  const keysPublicUrl: string = store.keysPublicUrl;
  const secret: string | null | undefined = store.urlSigningSecretKey;
  const storageBytes: number | undefined = store.stats?.storageBytes;
  const storeName: string | undefined = store.name;
  const modified: Date = store.modifiedAt;
  const accessed: Date = store.accessedAt;
  const actId: string | undefined = store.actId;
  const actRunId: string | undefined = store.actRunId;
  const stats: KeyValueStoreStats | undefined = store.stats;
  const access: STORAGE_GENERAL_ACCESS | null | undefined = store.generalAccess;
  const whole: V2Store = store;
  const listed: V2Store | undefined = stores.items[0];
  const renamed: KeyValueStore = await kv.update({ name: 'new-name', title: 'A title' });
  const changes: KeyValueClientUpdateOptions = { name: null, title: 'T', generalAccess: null };
  await kv.update(changes);
  const listOptions: KeyValueClientListKeysOptions = { limit: 10, exclusiveStartKey: 'a', collection: 'c', prefix: 'p', signature: 's' };
  await kv.listKeys(listOptions);
  const urlOptions: KeyValueClientCreateKeysUrlOptions = { limit: 10, prefix: 'p', expiresInSecs: 60 };
  await kv.createKeysPublicUrl(urlOptions);
  const writeOptions: KeyValueStoreRecordOptions = { timeoutSecs: 60, doNotRetryTimeouts: true };
  await kv.setRecord({ key: 'OUTPUT', value: 1 }, writeOptions);
  const page: KeyValueClientListKeysResult = await kv.listKeys({ limit: 5000, prefix: 'a', exclusiveStartKey: 'x', collection: 'c' });
  const first: KeyValueListItem | undefined = page.items[0];
  const count: number = page.count;
  const truncated: boolean = page.isTruncated;
  for await (const item of kv.listKeys()) console.log(item.key, item.size);
  const record: KeyValueStoreRecord<JsonValue> | undefined = await kv.getRecord('OUTPUT');
  const recordValue: JsonValue | undefined = record?.value;
  const image: KeyValueStoreRecord<Buffer> | undefined = await kv.getRecord('image', { buffer: true });
  const made: KeyValueStoreRecord<JsonValue> = { key: 'copy', value: recordValue ?? null, contentType: record?.contentType };
  await kv.setRecord(made);
  const json = await kv.getRecord('OUTPUT');
  const key: string | undefined = json?.key;
  const contentType: string | undefined = json?.contentType;
  const bytes = await kv.getRecord('image', { buffer: true });
  const buffer: Buffer | undefined = bytes?.value;
  const streamed = await kv.getRecord('video', { stream: true });
  streamed?.value.pipe(process.stdout);
  streamed?.value.on('data', (chunk: Buffer) => console.log(chunk.length));
  if (streamed) await byteCount(streamed.value);
  if (streamed) await pipeline(streamed.value, createWriteStream('video.mp4'));
  const readable: Readable | undefined = streamed?.value;
  const asStream: ReturnTypeFromOptions<{ stream: true }> | undefined = readable;
  const parsed: JsonValue | undefined = (await kv.getRecord('OUTPUT'))?.value;
  const next: string = page.nextExclusiveStartKey;
  const getOptions: KeyValueClientGetRecordOptions = { buffer: true, signature: 'sig' };
  await kv.getRecord('image', getOptions);
  await kv.setRecord({ key: 'OUTPUT', value: { hello: 'world' } });
  await kv.setRecord({ key: 'page', value: '<p>hi</p>', contentType: 'text/html' }, { timeoutSecs: 60, doNotRetryTimeouts: true });
  const exists: boolean = await kv.recordExists('OUTPUT');
  await kv.deleteRecord('OUTPUT');
  const url: string = await kv.getRecordPublicUrl('OUTPUT');
  const keysUrl: string = await kv.createKeysPublicUrl({ expiresInSecs: 60, prefix: 'a', limit: 10 });
  await client.keyValueStore('alice/my-store').delete();
  try {
    await kv.getRecord('x');
  } catch (error) {
    if (error instanceof ApifyApiError) {
      const fields: unknown[] = [error.statusCode, error.type, error.message, error.attempt, error.httpMethod, error.path, error.clientMethod, error.data, error.originalStack];
      return fields;
    }
  }
  return [readable, asStream, recordValue, image?.value, paged, asBuffer, parsed, next, total, got, id, created, title, owner, ownerName, keysPublicUrl, secret, storageBytes, storeName, modified, accessed, actId, actRunId, stats, access, whole, listed, renamed, first, count, truncated, key, contentType, buffer, exists, url, keysUrl];
}
`;

const TSCONFIG = {
  compilerOptions: {
    strict: true,
    noEmit: true,
    types: ['node'],
    typeRoots: [path.join(ROOT, 'node_modules/@types')],
    lib: ['es2022', 'dom'],
    target: 'es2022',
    module: 'esnext',
    moduleResolution: 'bundler',
    skipLibCheck: true,
  },
  files: ['v2.ts'],
};

async function typeCheck(moduleName: string): Promise<string> {
  const sub = mkdtempSync(path.join(dir, 'case-'));
  writeFileSync(path.join(sub, 'v2.ts'), V2_FILE.replace('MODULE', moduleName));
  writeFileSync(path.join(sub, 'tsconfig.json'), JSON.stringify(TSCONFIG));
  const tsc = path.join(ROOT, 'node_modules/typescript/bin/tsc');
  return promisify(execFile)(process.execPath, [tsc, '-p', sub], { cwd: sub }).then(
    () => '',
    (error: { stdout: string }) => error.stdout || 'tsc failed',
  );
}

describe("apify-client v2's types", () => {
  it('the file really is v2 code: it type-checks against the official apify-client', async () => {
    expect(await typeCheck('apify-client')).toBe('');
  }, 120_000);

  it('and, unchanged but for the import, against this package', async () => {
    expect(existsSync(path.join(ROOT, 'dist/index.d.ts')), 'run npm run build first').toBe(true);
    expect(await typeCheck(path.join(ROOT, 'dist/index.js'))).toBe('');
  }, 120_000);
});
