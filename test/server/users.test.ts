/**
 * `GET /v2/users/me` and `/v2/users/{id}`: the Apify CLI logs in with it, the Apify SDK asks it.
 * The token's user, 401 for a bad or missing token, 404 for anyone else.
 */
import { ApifyClient as OfficialClient } from 'apify-client';
import { describe, expect, it } from 'vitest';
import { startTestServer } from './helpers.js';

const TOKEN = 'users-token';

async function get(url: string, token?: string, method = 'GET'): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, { method, headers: token ? { Authorization: `Bearer ${token}` } : {} });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

describe('GET /v2/users/{me|id}', () => {
  it("answers the token's user as me, by id and by username", async () => {
    const server = await startTestServer({ users: [{ id: 'u-alice', username: 'alice', token: TOKEN }] });
    const me = await get(`${server.url}/v2/users/me`, TOKEN);
    expect(me.status).toBe(200);
    expect(me.body.data).toMatchObject({ id: 'u-alice', username: 'alice' });
    expect((await get(`${server.url}/v2/users/u-alice`, TOKEN)).body).toEqual(me.body);
    expect((await get(`${server.url}/v2/users/alice`, TOKEN)).body).toEqual(me.body);
    // Through the official client, as the Apify CLI asks it.
    const official = new OfficialClient({ baseUrl: server.url, token: TOKEN, maxRetries: 0 });
    expect(await official.user('me').get()).toMatchObject({ id: 'u-alice', username: 'alice' });
  });

  it('refuses a bad or missing token (401) and another user (404); only GET', async () => {
    const server = await startTestServer({ users: [{ id: 'u-alice', username: 'alice', token: TOKEN }] });
    const bad = await get(`${server.url}/v2/users/me`, 'wrong-token');
    expect([bad.status, (bad.body.error as { type: string }).type]).toEqual([401, 'invalid-token']);
    const none = await get(`${server.url}/v2/users/me`);
    expect([none.status, (none.body.error as { type: string }).type]).toEqual([401, 'token-not-provided']);
    const other = await get(`${server.url}/v2/users/u-bob`, TOKEN);
    expect(other.status).toBe(404);
    expect((await get(`${server.url}/v2/users/me`, TOKEN, 'POST')).status).toBe(405);
    // The official client turns the 401 into an error, so `apify login` says the token is wrong.
    const official = new OfficialClient({ baseUrl: server.url, token: 'wrong-token', maxRetries: 0 });
    await expect(official.user('me').get()).rejects.toMatchObject({ statusCode: 401 });
  });

  it('answers the local user on a server without tokens', async () => {
    const server = await startTestServer();
    const me = await get(`${server.url}/v2/users/me`);
    expect(me.status).toBe(200);
    expect(me.body.data).toMatchObject({ id: 'local-user', username: 'local' });
  });
});
