/**
 * A loopback HTTP proxy in front of the real local server, for faults a real server does not
 * produce on demand: a 500 for one request, or a response body that stops half way.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** `status`: answer this instead; `stall`: pass `afterBytes` of the answer on, then nothing; `hang`: never answer. */
export type Fault = { kind: 'status'; status: number } | { kind: 'stall'; afterBytes: number } | { kind: 'hang' } | null;

export interface FaultProxy {
  url: string;
  /** Requests seen, as `METHOD path`. */
  seen: string[];
  close(): Promise<void>;
}

export async function startFaultProxy(target: string, faultFor: (method: string, path: string) => Fault): Promise<FaultProxy> {
  const upstream = new URL(target);
  const seen: string[] = [];
  const sockets = new Set<import('node:net').Socket>();
  const server = http.createServer((req, res) => {
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    seen.push(`${method} ${path.split('?')[0]}`);
    const fault = faultFor(method, path.split('?')[0]!);
    if (fault?.kind === 'status') {
      req.resume();
      req.on('end', () => {
        res.writeHead(fault.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { type: 'internal-error', message: 'injected fault' } }));
      });
      return;
    }
    if (fault?.kind === 'hang') {
      req.resume();
      return;
    }
    const forward = http.request(
      { host: upstream.hostname, port: upstream.port, method, path, headers: { ...req.headers, host: upstream.host } },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        if (fault?.kind !== 'stall') {
          answer.pipe(res);
          return;
        }
        // Pass the first bytes on, then hold the rest back until the client gives up.
        let sent = 0;
        answer.on('data', (chunk: Buffer) => {
          if (sent >= fault.afterBytes) return answer.pause();
          const part = chunk.subarray(0, fault.afterBytes - sent);
          sent += part.length;
          res.write(part);
        });
        res.on('close', () => answer.destroy());
      },
    );
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
