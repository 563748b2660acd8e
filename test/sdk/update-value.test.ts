/**
 * `KeyValueStore.updateValue`, the compare-and-set helper: many writers incrementing one counter
 * lose no increment, on local storage and through the API (the local server; the S3 variant in
 * test/s3/sdk-update-value.test.ts runs it over S3); `undefined` leaves, `null` deletes; a writer
 * that keeps losing fails with `conflict`.
 */
import { afterAll, describe, expect, it } from 'vitest';

import { ApifyClient } from '../../src/index.js';
import { closeKeyValueStores, KeyValueStore } from '../../src/sdk/index.js';
import { startTestServer, tempDir, testStorageKind } from '../server/helpers.js';

afterAll(async () => {
  await closeKeyValueStores();
});

/** A store on each backend: the folder in process (folder runs only), and the API of a server. */
const backends: Array<[string, (name: string) => Promise<KeyValueStore[]>]> = [
  [
    'the API',
    async (name) => {
      const first = await startTestServer();
      // Two clients; over S3 they talk to two server instances sharing the bucket.
      const servers = testStorageKind() === 's3' ? [first, await startTestServer({ ...first.sameStorage })] : [first, first];
      return Promise.all(servers.map((server) => KeyValueStore.open(name, { client: new ApifyClient({ baseUrl: server.url }) })));
    },
  ],
];
if (testStorageKind() === 'folder') {
  backends.push([
    'local storage',
    async (name) => {
      const store = await KeyValueStore.open(name, { storageDir: await tempDir('kv-sdk-cas-') });
      return [store, store];
    },
  ]);
}

describe.each(backends)('updateValue on %s', (_, open) => {
  it('loses no increment: writers x increments each, all at once, end at their product', async () => {
    const stores = await open('counter');
    const writers = 5;
    const each = 4;
    await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        const store = stores[w % stores.length]!;
        for (let i = 0; i < each; i++) await store.updateValue<{ n: number }>('STATE', (state) => ({ n: (state?.n ?? 0) + 1 }), { retries: 1000 });
      }),
    );
    expect(await stores[0]!.getValue('STATE')).toEqual({ n: writers * each });
  });

  it('creates when missing, leaves the record on undefined, deletes it on null', async () => {
    const [store] = await open('shapes');
    expect(await store!.updateValue<string>('k', (v) => (v === null ? 'first' : `${v}!`), { contentType: 'text/plain' })).toBe('first');
    expect(await store!.getValue('k')).toBe('first');
    expect(await store!.updateValue('k', () => undefined)).toBe('first');
    expect(await store!.getValue('k')).toBe('first');
    expect(await store!.updateValue('k', () => null)).toBeNull();
    expect(await store!.recordExists('k')).toBe(false);
  });

  it('starts over when another writer came first, and fails with conflict once out of retries', async () => {
    const [store, other] = await open('losing');
    await other!.setValue('k', 1);
    let calls = 0;
    // Each call of `update` lets another writer change the record first: every attempt loses.
    const interfere = async (v: number | null) => {
      calls++;
      await other!.setValue('k', (v ?? 0) + 100);
      return (v ?? 0) + 1;
    };
    await expect(store!.updateValue<number>('k', interfere, { retries: 2 })).rejects.toMatchObject({ name: 'KeyValueStoreError', type: 'conflict' });
    expect(calls).toBe(3);
    expect(await other!.getValue('k')).toBe(301);
    // One lost round, then a clean one.
    let first = true;
    const once = async (v: number | null) => {
      if (first) await other!.setValue('k', 0);
      first = false;
      return (v ?? 0) + 1;
    };
    expect(await store!.updateValue<number>('k', once, { retries: 1 })).toBe(1);
    expect(await store!.getValue('k')).toBe(1);
  });

  it('refuses bad arguments before touching the store', async () => {
    const [store] = await open('args');
    await expect(store!.updateValue('k', () => 1, { retry: 3 } as never)).rejects.toMatchObject({ type: 'invalid-argument' });
    await expect(store!.updateValue('k', () => 1, { retries: -1 })).rejects.toMatchObject({ type: 'invalid-argument' });
    await expect(store!.updateValue('k', 'nope' as never)).rejects.toMatchObject({ type: 'invalid-argument' });
    expect(await store!.recordExists('k')).toBe(false);
  });
});
