import type { IncomingMessage } from 'node:http';
import { ApifyClient } from 'apify-client';
import { describe, expect, it } from 'vitest';
import { startTestServer } from './helpers.js';

describe('the official apify-client against the server', () => {
  it('runs the basic flow: get-or-create, set/get JSON, text and binary, list keys to the end, delete', async () => {
    const server = await startTestServer({ token: 'official-token' });
    const seen: Array<{ method?: string; url?: string; encoding?: string }> = [];
    server.server.on('request', (req: IncomingMessage) => {
      seen.push({ method: req.method, url: req.url, encoding: req.headers['content-encoding'] });
    });
    const client = new ApifyClient({ baseUrl: server.url, token: 'official-token', maxRetries: 1, minDelayBetweenRetriesMillis: 10 });

    const store = await client.keyValueStores().getOrCreate('official-flow');
    expect(store.name).toBe('official-flow');
    expect(store.createdAt).toBeInstanceOf(Date);
    const again = await client.keyValueStores().getOrCreate('official-flow');
    expect(again.id).toBe(store.id);
    const kv = client.keyValueStore(store.id);

    const big = { text: 'x'.repeat(4000), list: [1, 2, 3], nested: { ok: true } };
    await kv.setRecord({ key: 'big-json', value: big });
    const put = seen.find((r) => r.method === 'PUT' && r.url?.includes('big-json'));
    expect(put?.encoding).toBe('br');
    const gotJson = await kv.getRecord('big-json');
    expect(gotJson?.value).toEqual(big);
    expect(gotJson?.contentType).toBe('application/json; charset=utf-8');

    await kv.setRecord({ key: 'text', value: 'hello from the official client' });
    const gotText = await kv.getRecord('text');
    expect(gotText?.value).toBe('hello from the official client');
    expect(gotText?.contentType).toBe('text/plain; charset=utf-8');

    const binary = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7) % 256));
    // Buffers work at runtime though the record type says JSON.
    await kv.setRecord({ key: 'image.png', value: binary as never, contentType: 'image/png' });
    const gotBinary = await kv.getRecord('image.png', { buffer: true });
    expect(Buffer.isBuffer(gotBinary?.value)).toBe(true);
    expect((gotBinary!.value as Buffer).equals(binary)).toBe(true);
    expect(gotBinary?.contentType).toBe('image/png');

    for (let i = 0; i < 5; i++) await kv.setRecord({ key: `item-${i}`, value: { i } });

    // Page by hand to the end with a small limit.
    const keys: string[] = [];
    let exclusiveStartKey: string | undefined;
    for (let pages = 0; pages < 20; pages++) {
      const page = await kv.listKeys({ limit: 2, exclusiveStartKey });
      keys.push(...page.items.map((i) => i.key));
      if (!page.isTruncated) break;
      exclusiveStartKey = page.nextExclusiveStartKey!;
    }
    const expected = ['big-json', 'image.png', 'item-0', 'item-1', 'item-2', 'item-3', 'item-4', 'text'];
    expect(keys).toEqual(expected);
    // And through the client's own iteration, which stops on nextExclusiveStartKey === null.
    const iterated: string[] = [];
    for await (const item of kv.listKeys({ limit: 3 }) as any) iterated.push(item.key);
    expect(iterated.slice(0, 3)).toEqual(expected.slice(0, 3));

    expect(await kv.recordExists('text')).toBe(true);
    expect(await kv.recordExists('nope')).toBe(false);
    expect(await kv.getRecord('nope')).toBeUndefined();

    const publicUrl = await kv.getRecordPublicUrl('text');
    expect(publicUrl).toContain('signature=');
    expect(await (await fetch(publicUrl.replace('https://api.apify.com', server.url))).text()).toBe(
      'hello from the official client',
    );

    await kv.deleteRecord('text');
    expect(await kv.getRecord('text')).toBeUndefined();

    const updated = await kv.update({ name: 'official-renamed' });
    expect(updated.name).toBe('official-renamed');
    const list = await client.keyValueStores().list();
    expect(list.items.map((s) => s.id)).toContain(store.id);

    await kv.delete();
    expect(await kv.get()).toBeUndefined();
  });

  it('maps errors the way the official client expects', async () => {
    const server = await startTestServer({ token: 'official-token' });
    const bad = new ApifyClient({ baseUrl: server.url, token: 'wrong', maxRetries: 0 });
    await expect(bad.keyValueStores().list()).rejects.toMatchObject({ statusCode: 401, type: 'invalid-token' });
    const client = new ApifyClient({ baseUrl: `${server.url}/`, token: 'official-token', maxRetries: 0 });
    expect(await client.keyValueStore('missing-store').get()).toBeUndefined();
    await expect(client.keyValueStore('missing-store').setRecord({ key: 'k', value: 1 })).rejects.toMatchObject({
      statusCode: 404,
      type: 'record-or-token-not-found',
    });
  });
});
