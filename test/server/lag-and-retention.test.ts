import { describe, expect, it } from 'vitest';
import { createStore, expectError, kvs, putRecord, raw, sleep, startTestServer, tempDir } from './helpers.js';

describe('consistency lag simulation', () => {
  it('with 300 ms lag a read right after a write may see the old state, and sees the new one after the lag', async () => {
    const server = await startTestServer({ consistencyLagMillis: 300 });
    const id = await createStore(server, 'lagging');
    const get = (key: string) => raw(server, 'GET', `${kvs}/${id}/records/${key}`);

    // A new record: 404 for a while, then there.
    await putRecord(server, id, 'fresh', 'v0');
    const firstRead = await get('fresh');
    await sleep(350);
    expect((await get('fresh')).text).toBe('v0');

    let stale = firstRead.status === 404 ? 1 : 0;
    for (let i = 1; i <= 8; i++) {
      await putRecord(server, id, 'fresh', `v${i}`);
      const right = await get('fresh');
      expect([`v${i - 1}`, `v${i}`]).toContain(right.text);
      if (right.text === `v${i - 1}`) stale++;
      await sleep(350);
      expect((await get('fresh')).text).toBe(`v${i}`);
    }
    expect(stale).toBeGreaterThan(0);

    // A delete: may still be readable for a while, then 404.
    await raw(server, 'DELETE', `${kvs}/${id}/records/fresh`);
    const afterDelete = await get('fresh');
    expect([200, 404]).toContain(afterDelete.status);
    await sleep(350);
    expectError(await get('fresh'), 404, 'record-not-found');
  });

  it('is off by default: reads see writes at once', async () => {
    const server = await startTestServer();
    const id = await createStore(server, 'strict');
    for (let i = 0; i < 20; i++) {
      await putRecord(server, id, 'k', `v${i}`);
      expect((await raw(server, 'GET', `${kvs}/${id}/records/k`)).text).toBe(`v${i}`);
    }
  });
});

describe('retention with an injected clock', () => {
  it('unnamed stores expire 7 days after last access; named ones, and ones given a name, are kept', async () => {
    const storageDir = await tempDir();
    let clock = Date.parse('2030-01-01T00:00:00Z');
    const now = () => clock;
    const first = await startTestServer({ storageDir, now });
    const unnamed = await createStore(first);
    const renamed = await createStore(first);
    const recent = await createStore(first);
    const named = await createStore(first, 'keeper');
    await putRecord(first, unnamed, 'k', 'v');
    expect(
      (await raw(first, 'PUT', `${kvs}/${renamed}`, { body: JSON.stringify({ name: 'saved' }) })).status,
    ).toBe(200);
    const created = (await raw(first, 'GET', `${kvs}/${unnamed}`)).json.data;
    expect(created.createdAt).toBe('2030-01-01T00:00:00.000Z');

    clock += 6 * 24 * 3600_000;
    expect((await raw(first, 'GET', `${kvs}/${recent}`)).status).toBe(200); // touched on day 6
    await first.close();

    clock += 2 * 24 * 3600_000; // day 8
    const second = await startTestServer({ storageDir, now });
    expectError(await raw(second, 'GET', `${kvs}/${unnamed}`), 404, 'record-or-token-not-found');
    expect((await raw(second, 'GET', `${kvs}/${recent}`)).status).toBe(200);
    expect((await raw(second, 'GET', `${kvs}/${renamed}`)).json.data.name).toBe('saved');
    expect((await raw(second, 'GET', `${kvs}/${named}`)).json.data.name).toBe('keeper');
  });

  it('honours a configured retention period', async () => {
    const storageDir = await tempDir();
    let clock = Date.parse('2030-01-01T00:00:00Z');
    const first = await startTestServer({ storageDir, now: () => clock, unnamedRetentionMillis: 60_000 });
    const id = await createStore(first);
    await first.close();
    clock += 61_000;
    const second = await startTestServer({ storageDir, now: () => clock, unnamedRetentionMillis: 60_000 });
    expectError(await raw(second, 'GET', `${kvs}/${id}`), 404, 'record-or-token-not-found');
  });
});
