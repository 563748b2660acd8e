/**
 * A loopback HTTP proxy between the servers and an S3 service that injects S3's faults by
 * rule: a request whose method and path match a rule gets that rule's fault, for the rule's
 * count of requests. Requests pass through byte for byte (signatures stay valid: the Host
 * header is the one the client signed).
 *
 * Faults: `status500` (InternalError), `status503` (ServiceUnavailable), `slowDown` (503
 * SlowDown), `reset` (the connection is reset, nothing forwarded), `dropAnswer` (forwarded and
 * applied, then the connection is reset instead of the answer), `stall` (accepted, never
 * answered), `stallBody` (the answer's headers and part of its body, then nothing), `hold`
 * (forwarded only when `release()` is called).
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

import { seededRandom } from '../reliability/support/fault-proxy.js';

export type S3FaultAction = 'status500' | 'status503' | 'slowDown' | 'reset' | 'dropAnswer' | 'stall' | 'stallBody' | 'hold';

export interface S3FaultRule {
  action: S3FaultAction;
  method?: string;
  /** Matched against the path and query (`/bucket/key?x=y`), decoded. */
  path?: RegExp | string;
  /** How many matching requests get the fault (default 1; `Infinity` until removed). */
  times?: number;
  /** The chance a matching request gets it (default 1), drawn from the proxy's seeded random. */
  probability?: number;
}

export interface S3ProxyRequest {
  method: string;
  path: string;
  fault: S3FaultAction | null;
}

export interface S3FaultProxy {
  /** The endpoint to give the S3 client instead of the service's. */
  url: string;
  /** Every request seen, in order. */
  readonly requests: S3ProxyRequest[];
  add(rule: S3FaultRule): void;
  /** Removes every rule (held requests stay held until `release`). */
  clear(): void;
  /** How many requests are held or stalled now. */
  waiting(): number;
  /** Forwards the held requests. */
  release(): void;
  close(): Promise<void>;
}

const ERRORS: Partial<Record<S3FaultAction, { status: number; code: string; message: string }>> = {
  status500: { status: 500, code: 'InternalError', message: 'We encountered an internal error. Please try again.' },
  status503: { status: 503, code: 'ServiceUnavailable', message: 'Service is unable to handle request.' },
  slowDown: { status: 503, code: 'SlowDown', message: 'Please reduce your request rate.' },
};

export async function startS3FaultProxy(target: string, seed = 1): Promise<S3FaultProxy> {
  const upstream = new URL(target);
  const random = seededRandom(seed);
  const rules: Array<S3FaultRule & { left: number }> = [];
  const requests: S3ProxyRequest[] = [];
  const held: Array<() => void> = [];
  let stalled = 0;
  const sockets = new Set<Socket>();

  const pick = (method: string, path: string): S3FaultAction | null => {
    for (const rule of rules) {
      if (rule.left <= 0) continue;
      if (rule.method && rule.method !== method) continue;
      if (rule.path !== undefined && !(typeof rule.path === 'string' ? path.includes(rule.path) : rule.path.test(path))) continue;
      if (rule.probability !== undefined && random() >= rule.probability) continue;
      rule.left--;
      return rule.action;
    }
    return null;
  };

  const forward = (req: http.IncomingMessage, body: Buffer, res: http.ServerResponse, fault: S3FaultAction | null) => {
    const out = http.request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        if (fault === 'dropAnswer') {
          // The write is applied; the client never hears so.
          answer.resume();
          answer.on('end', () => req.socket.destroy());
          return;
        }
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        if (fault === 'stallBody') {
          // The first chunk, then silence until the client gives up.
          answer.once('data', (chunk: Buffer) => res.write(chunk.subarray(0, Math.ceil(chunk.length / 2))));
          answer.resume();
          stalled++;
          req.socket.once('close', () => stalled--);
          return;
        }
        answer.pipe(res);
      },
    );
    out.on('error', () => req.socket.destroy());
    out.end(body);
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const method = req.method ?? 'GET';
      let path = req.url ?? '/';
      try {
        path = decodeURIComponent(path);
      } catch {
        // kept as sent
      }
      const fault = pick(method, path);
      requests.push({ method, path, fault });
      const error = fault ? ERRORS[fault] : undefined;
      if (error) {
        const xml = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${error.code}</Code><Message>${error.message}</Message><RequestId>fault-proxy</RequestId></Error>`;
        res.writeHead(error.status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(xml) });
        res.end(method === 'HEAD' ? undefined : xml);
        return;
      }
      if (fault === 'reset') return req.socket.destroy();
      if (fault === 'stall') {
        stalled++;
        req.socket.once('close', () => stalled--);
        return;
      }
      if (fault === 'hold') return held.push(() => forward(req, body, res, null));
      forward(req, body, res, fault);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    add: (rule) => rules.push({ ...rule, left: rule.times ?? 1 }),
    clear: () => void rules.splice(0),
    waiting: () => held.length + stalled,
    release: () => {
      for (const go of held.splice(0)) go();
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
