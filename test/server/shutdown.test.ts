import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { raw, startTestServer } from './helpers.js';

const kvs = '/v2/key-value-stores';

describe('close()', () => {
  it('finishes a write in flight, then stops, even while a reader has stopped reading', async () => {
    // A long shutdown timeout: if close() waited for the stalled reader, the test would time out.
    const server = await startTestServer({ shutdownTimeoutMillis: 120_000 });
    const id = (await raw(server, 'POST', `${kvs}?name=shutdown`)).json.data.id;
    const big = Buffer.alloc(8 * 1024 * 1024, 7);
    expect((await raw(server, 'PUT', `${kvs}/${id}/records/big`, { body: big })).status).toBe(201);

    // A reader that takes the first bytes and then stops reading (the socket stays open).
    const stalled = await new Promise<http.IncomingMessage>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: server.port, path: `${kvs}/${id}/records/big` }, (res) => {
        res.once('data', () => {
          res.pause();
          resolve(res);
        });
      }).on('error', reject);
    });

    // A writer that has sent half its body when close() is called.
    const writer = http.request({
      host: '127.0.0.1',
      port: server.port,
      method: 'PUT',
      path: `${kvs}/${id}/records/late`,
      headers: { 'content-type': 'text/plain', 'content-length': 10 },
    });
    const writeAnswer = new Promise<number>((resolve, reject) => {
      writer.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      writer.on('error', reject);
    });
    writer.write('hello');
    await new Promise((r) => setTimeout(r, 100));

    const closing = server.close();
    writer.end('world');
    expect(await writeAnswer).toBe(201);
    await closing;
    stalled.destroy();

    // The acknowledged writes are stored: a new server over the same folder (or S3 prefix) serves them.
    const again = await startTestServer(server.sameStorage);
    expect((await raw(again, 'GET', `${kvs}/${id}/records/late`)).text).toBe('helloworld');
    const bigAgain = await raw(again, 'GET', `${kvs}/${id}/records/big`);
    expect(bigAgain.body.equals(big)).toBe(true);
  });
});
