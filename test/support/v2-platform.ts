/**
 * A recording stand-in for the Apify platform's key-value-store API: canned answers enough for
 * every apify-client v2 key-value-store method, and a log of each request as it came (method, path,
 * query, the headers that matter, body bytes). The v2 equivalence suites (Node and browser) run
 * the same calls through apify-client v2 and this client against it and compare the logs.
 * Loopback only, port 0.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export const PLATFORM_TOKEN = 'wire-token';
const SIGNING_KEY = 'signing-key-0123456789';

export interface Recorded {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string | undefined>;
  /** The body bytes, base64. */
  body: string;
}

const store = (id: string, name: string | null) => ({
  id,
  name,
  userId: 'u1',
  username: 'alice',
  createdAt: '2026-01-02T03:04:05.000Z',
  modifiedAt: '2026-01-02T03:04:05.000Z',
  accessedAt: '2026-01-02T03:04:05.000Z',
  generalAccess: 'RESTRICTED',
  urlSigningSecretKey: SIGNING_KEY,
  stats: { readCount: 1, writeCount: 2 },
});

const KEYS = ['a', 'b', 'c', 'd', 'e'];

function send(res: http.ServerResponse, status: number, body?: unknown, type = 'application/json; charset=utf-8'): void {
  if (body === undefined) {
    res.writeHead(status).end();
    return;
  }
  const bytes = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': type }).end(bytes);
}

const notFound = (type: string) => ({ error: { type, message: `Not found (${type})`, data: { hint: 'x' } } });

/** The platform's answers, enough for every v2 key-value-store method. */
function answer(req: Recorded, res: http.ServerResponse): void {
  const parts = req.path.split('/').slice(3).map(decodeURIComponent); // after /v2/key-value-stores
  const [id, sub, key] = parts;
  if (id === undefined) {
    if (req.method === 'POST') return send(res, 201, { data: store('s1', req.query.name ?? null) });
    const items = [store('s1', 'one'), store('s2', 'two'), store('s3', null)];
    const offset = Number(req.query.offset ?? 0);
    const limit = Math.min(Number(req.query.limit || 2), 2);
    const page = items.slice(offset, offset + limit);
    return send(res, 200, { data: { total: 3, offset, limit, count: page.length, desc: false, unnamed: false, items: page } });
  }
  if (id.includes('missing')) return send(res, 404, notFound('record-or-token-not-found'));
  if (sub === undefined) {
    if (req.method === 'DELETE') return send(res, 204);
    return send(res, 200, { data: store(id, 'one') });
  }
  if (sub === 'keys') {
    const after = req.query.exclusiveStartKey;
    const start = after ? KEYS.indexOf(after) + 1 : 0;
    const limit = Math.min(Number(req.query.limit || 1000), 2);
    const items = KEYS.slice(start, start + limit).map((k) => ({ key: k, size: 3, recordPublicUrl: `http://x/${k}` }));
    const isTruncated = start + limit < KEYS.length;
    return send(res, 200, {
      data: { items, count: items.length, limit, exclusiveStartKey: after ?? null, isTruncated, nextExclusiveStartKey: isTruncated ? items.at(-1)!.key : null },
    });
  }
  if (key === 'absent' || key === 'absent-on-delete') {
    return send(res, 404, req.method === 'HEAD' ? undefined : notFound('record-not-found'));
  }
  if (key === 'broken') return send(res, 500, { error: { type: 'internal-error', message: 'Boom', data: { reason: 'test' } } });
  if (req.method === 'PUT') return send(res, 201, {});
  if (req.method === 'DELETE') return send(res, 204);
  if (req.method === 'HEAD') return send(res, 200);
  if (key === 'json') return send(res, 200, JSON.stringify({ hello: ['world', 1] }), 'application/json; charset=utf-8');
  if (key === 'text') return send(res, 200, 'plain text', 'text/plain; charset=utf-8');
  return send(res, 200, Buffer.from([0, 1, 2, 250]), 'application/octet-stream');
}

export interface RecordingPlatform {
  url: string;
  /** Requests to `/v2/` since the last `take()`, in order; `take()` empties the log. */
  take(): Recorded[];
  close(): Promise<void>;
}

/**
 * Starts the stand-in on 127.0.0.1, port 0. `files` are served as they are at their paths
 * (pages and scripts for a browser on the same origin); only `/v2/` requests are recorded.
 */
export async function startRecordingPlatform(files: Record<string, { type: string; body: string | Buffer }> = {}): Promise<RecordingPlatform> {
  let recorded: Recorded[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url!, 'http://x');
      const file = files[url.pathname];
      if (!url.pathname.startsWith('/v2/')) {
        res.writeHead(file ? 200 : 404, { 'content-type': file?.type ?? 'text/plain' }).end(file?.body ?? 'not found');
        return;
      }
      const entry: Recorded = {
        method: req.method!,
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers: {
          authorization: req.headers.authorization,
          'content-type': req.headers['content-type'],
          'content-encoding': req.headers['content-encoding'],
          // Set by the request hooks of the equivalence suites.
          'x-hook': req.headers['x-hook'] as string | undefined,
        },
        body: Buffer.concat(chunks).toString('base64'),
      };
      recorded.push(entry);
      answer(entry, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    take: () => {
      const taken = recorded;
      recorded = [];
      return taken;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
