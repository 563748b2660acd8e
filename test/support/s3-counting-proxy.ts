/**
 * A pass-through HTTP proxy in front of an S3 endpoint that counts the requests it forwards,
 * by kind (`GET`, `PUT`, `HEAD`, `DELETE`, `LIST` for a ListObjects), optionally holding
 * requests of a kind for a while before passing them on (to force an interleaving). Point a
 * backend's `endpoint` at `url` (path-style): the Host header is passed on as sent, so SigV4
 * signatures stay valid.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface CountingProxy {
  url: string;
  /** Requests forwarded so far, by kind. */
  counts(): Record<string, number>;
  /** Requests answered so far, by kind. */
  answered(): Record<string, number>;
  /** Requests forwarded so far, in order: kind and path (decoded, without the query). */
  log(): Array<{ kind: string; path: string }>;
  reset(): void;
  close(): Promise<void>;
}

export async function startCountingProxy(target: string, options: { holdMillis?: (kind: string) => number } = {}): Promise<CountingProxy> {
  const upstream = new URL(target);
  const agent = new http.Agent({ keepAlive: true });
  let counts: Record<string, number> = {};
  let answered: Record<string, number> = {};
  let log: Array<{ kind: string; path: string }> = [];
  const server = http.createServer((req, res) => {
    const query = new URL(req.url ?? '/', 'http://x').searchParams;
    const kind = req.method === 'GET' && query.get('list-type') === '2' ? 'LIST' : req.method ?? '?';
    counts[kind] = (counts[kind] ?? 0) + 1;
    log.push({ kind, path: decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname) });
    const hold = options.holdMillis?.(kind) ?? 0;
    res.on('finish', () => (answered[kind] = (answered[kind] ?? 0) + 1));
    if (hold <= 0) return pass(req, res);
    req.pause();
    setTimeout(() => pass(req, res), hold);
  });
  const pass = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const forward = http.request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers, agent },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => res.destroy());
    req.pipe(forward);
    req.resume();
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    counts: () => ({ ...counts }),
    answered: () => ({ ...answered }),
    log: () => [...log],
    reset: () => {
      counts = {};
      answered = {};
      log = [];
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}
