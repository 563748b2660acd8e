/** One structured log line per request; the token never in any output; the server token from the environment. */
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseServeArgs, runServeCommand, SERVER_TOKEN_ENV, type RequestLogOptions, type RunningServer } from '../../src/server/index.js';
import { createStore, kvs, putRecord, raw, startTestServer, tempDir } from './helpers.js';

interface LogLine {
  level: string;
  time: string;
  msg: string;
  reqId: string;
  method: string;
  route: string;
  status: number;
  durationMs: number;
  bytesIn: number;
  bytesOut: number;
  aborted?: boolean;
}

/** A server logging JSON lines into an array; warnings and errors into another. */
async function loggingServer(options: { token?: string; level?: RequestLogOptions['level']; format?: RequestLogOptions['format'] } = {}) {
  const lines: string[] = [];
  const other: string[] = [];
  const server = await startTestServer({
    token: options.token,
    requestLog: { format: options.format ?? 'json', level: options.level, destination: { write: (line: string) => lines.push(line) } },
    logger: { info: (m) => other.push(m), warn: (m) => other.push(m), error: (m) => other.push(m) },
  });
  const entries = () => lines.map((l) => JSON.parse(l) as LogLine);
  return { server, lines, other, entries };
}

/** Lines are written when the answer has ended, which the client may see a moment before. */
async function waitForLines(lines: string[], count: number): Promise<void> {
  await expect.poll(() => lines.length, { timeout: 5000, interval: 10 }).toBeGreaterThanOrEqual(count);
}

describe('request log', () => {
  it('writes one JSON line per request with id, method, route template, status, duration and bytes', async () => {
    const { server, lines, entries } = await loggingServer();
    const storeId = await createStore(server, 'logged');
    const body = 'y'.repeat(500);
    const put = await raw(server, 'PUT', `${kvs}/${storeId}/records/private-key-name`, {
      headers: { 'Content-Type': 'text/plain', 'X-Request-Id': 'trace-abc.123' },
      body,
    });
    expect(put.status).toBe(201);
    expect(put.headers['x-request-id']).toBe('trace-abc.123');
    const get = await raw(server, 'GET', `${kvs}/${storeId}/records/private-key-name`);
    expect(get.status).toBe(200);
    await waitForLines(lines, 3);

    const [create, putLine, getLine] = entries();
    expect(create).toMatchObject({ level: 'info', msg: 'request', method: 'POST', route: '/v2/key-value-stores', status: 201 });
    expect(putLine).toMatchObject({
      level: 'info',
      reqId: 'trace-abc.123',
      method: 'PUT',
      route: '/v2/key-value-stores/:storeId/records/:recordKey',
      status: 201,
      bytesIn: 500,
      bytesOut: put.body.length,
    });
    expect(putLine!.durationMs).toBeGreaterThanOrEqual(0);
    expect(new Date(putLine!.time).toISOString()).toBe(putLine!.time);
    // A request without an id gets a fresh one, the same in the answer and the log.
    expect(getLine!.reqId).toMatch(/^[0-9a-f-]{36}$/);
    expect(get.headers['x-request-id']).toBe(getLine!.reqId);
    expect(getLine).toMatchObject({ method: 'GET', status: 200, bytesIn: 0, bytesOut: 500 });
    expect(create!.reqId).not.toBe(getLine!.reqId);
    // The route template, never the key or the store id.
    expect(lines.join('')).not.toContain('private-key-name');
    expect(lines.join('')).not.toContain(storeId);
  });

  it('replaces a request id that could forge log lines or headers', async () => {
    const { server, lines, entries } = await loggingServer();
    const res = await raw(server, 'GET', kvs, { headers: { 'X-Request-Id': 'a b"c' } });
    const long = await raw(server, 'GET', kvs, { headers: { 'X-Request-Id': 'x'.repeat(129) } });
    await waitForLines(lines, 2);
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(long.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(entries().map((e) => e.reqId)).toEqual([res.headers['x-request-id'], long.headers['x-request-id']]);
  });

  it('never logs the token, wherever the client puts it and whatever fails', async () => {
    const token = 'tok-Very-Secret-4711';
    const { server, lines, other } = await loggingServer({ token, level: 'trace' });
    const auth = { Authorization: `Bearer ${token}` };
    const storeId = await createStore(server, 'guarded', token);
    await putRecord(server, storeId, 'k', 'v', 'text/plain', token);
    await raw(server, 'GET', `${kvs}/${storeId}/records/k?token=${token}`);
    await raw(server, 'GET', `${kvs}/${storeId}/keys?token=${token}&limit=bad`);
    await raw(server, 'GET', `${kvs}/${storeId}/records/${token}`, { headers: auth });
    await raw(server, 'GET', `${kvs}/${token}/records/k`, { headers: auth });
    await raw(server, 'GET', `${kvs}?token=${token}x`);
    await raw(server, 'GET', `/metrics?token=${token}`);
    await raw(server, 'GET', `/health/ready?token=${token}`);
    await raw(server, 'GET', `/no-such-page/${token}`, { headers: auth });
    await raw(server, 'DELETE', `${kvs}/${storeId}`, { headers: { Authorization: `Bearer ${token}-wrong` } });
    await waitForLines(lines, 11);
    const everything = [...lines, ...other].join('\n');
    expect(everything).toContain('"status":401');
    expect(everything).not.toContain(token);
  });

  it('logs probes only at debug level, and nothing below the level set', async () => {
    const quiet = await loggingServer({ level: 'warn' });
    await raw(quiet.server, 'GET', kvs);
    await raw(quiet.server, 'GET', '/health/ready');
    const debug = await loggingServer({ level: 'debug' });
    await raw(debug.server, 'GET', '/health/ready');
    await raw(debug.server, 'GET', kvs);
    await waitForLines(debug.lines, 2);
    expect(debug.entries().map((e) => [e.level, e.route])).toEqual([
      ['debug', '/health/ready'],
      ['info', '/v2/key-value-stores'],
    ]);
    // By now the quiet server has ended its answers too: it wrote nothing.
    expect(quiet.lines).toEqual([]);
  });

  it('writes readable lines in the pretty format', async () => {
    const { server, lines } = await loggingServer({ format: 'pretty' });
    const res = await raw(server, 'GET', kvs, { headers: { 'X-Request-Id': 'pretty-1' } });
    await waitForLines(lines, 1);
    expect(lines[0]).toMatch(
      new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\S+Z INFO  GET /v2/key-value-stores 200 [\\d.]+ ms in=0 B out=${res.body.length} B id=pretty-1\\n$`),
    );
  });
});

describe('serve: token from the environment, logs on stdout', () => {
  const running: RunningServer[] = [];
  afterEach(async () => {
    vi.unstubAllEnvs();
    while (running.length > 0) await running.pop()!.close();
  });

  it(`takes the token from $${SERVER_TOKEN_ENV} unless --token is given`, () => {
    expect(parseServeArgs([], { [SERVER_TOKEN_ENV]: 'from-env' }).token).toBe('from-env');
    expect(parseServeArgs(['--token', 'from-flag'], { [SERVER_TOKEN_ENV]: 'from-env' }).token).toBe('from-flag');
    expect(parseServeArgs([], {}).token).toBeUndefined();
    expect(() => parseServeArgs([], { [SERVER_TOKEN_ENV]: '' })).toThrow(/set but empty/);
    expect(() => parseServeArgs(['--log-format', 'xml'], {})).toThrow(/--log-format/);
    expect(() => parseServeArgs(['--log-level', 'loud'], {})).toThrow(/--log-level/);
    expect(parseServeArgs(['--metrics', '--log-format', 'json', '--log-level', 'debug'], {})).toMatchObject({
      metrics: true,
      requestLog: { format: 'json', level: 'debug' },
    });
  });

  it('serves with the token from the environment and logs JSON request lines on stdout', async () => {
    const token = 'env-token-0815';
    vi.stubEnv(SERVER_TOKEN_ENV, token);
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = '';
    let err = '';
    stdout.on('data', (d) => (out += d));
    stderr.on('data', (d) => (err += d));
    const dir = await tempDir();
    const server = await runServeCommand(['--port', '0', '--storage-dir', dir, '--log-format', 'json'], { stdout, stderr });
    if (typeof server === 'number') throw new Error(`serve failed: ${server} ${err}`);
    running.push(server);
    expect((await raw(server, 'GET', kvs)).status).toBe(401);
    expect((await raw(server, 'GET', kvs, { headers: { Authorization: `Bearer ${token}` } })).status).toBe(200);
    await expect.poll(() => out.split('\n').filter((l) => l.startsWith('{')).length, { timeout: 5000, interval: 10 }).toBe(2);
    const entries = out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as LogLine);
    expect(entries.map((e) => e.status)).toEqual([401, 200]);
    expect(out).toMatch(/^Listening on http:\/\/127\.0\.0\.1:\d+\n/);
    expect(out + err).not.toContain(token);
  });
});
