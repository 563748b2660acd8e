/**
 * A loopback HTTP proxy that sits between a client and a real server and injects the
 * faults a remote store shows under load: 5xx answers, 429 with Retry-After, connections
 * reset before or after the request reached the server, truncated response bodies and
 * stalls past the client's timeout. Randomness is seeded, so a failing run can be replayed
 * (the fault mix, not the exact interleaving of concurrent requests).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type FaultKind =
  | 'status500'
  | 'status502'
  | 'status503'
  | 'rateLimit'
  | 'resetBeforeForward'
  | 'resetAfterForward'
  | 'truncateBody'
  | 'stall';

export type FaultRates = Partial<Record<FaultKind, number>>;

export interface FaultProxyOptions {
  /** Base URL of the real server, e.g. `http://127.0.0.1:1234`. */
  target: string;
  seed: number;
  /** Probability of each fault per request; the sum must stay below 1. */
  rates: FaultRates;
  /** Seconds sent in `Retry-After` with 429 answers. */
  retryAfterSecs?: number;
  /** How long a stalled request is held before the proxy drops it. */
  stallMillis?: number;
  /**
   * Most faults in a row for one request (method and URL); the next try of it goes through.
   * Without a bound, a client that retries 8 times fails now and then by chance alone: at a 23%
   * fault rate, one operation in 0.23^-9 (about 550,000) meets nine faults in a row, so about one
   * run in 200 of the two fault runs (2,900 operations) failed. Bounded, a failure is a bug.
   */
  maxFaultsInARow?: number;
}

export interface FaultProxy {
  url: string;
  /** Requests seen, forwarded, and faults injected by kind. */
  counts: { requests: number; forwarded: number; upstreamFailures: number; clientLeftEarly: number; faults: Record<FaultKind, number> };
  /** What happened to each request whose path contains `pathPart`, in order: for failure messages. */
  eventsFor(pathPart: string): string[];
  close(): Promise<void>;
}

/** Small, fast, seedable PRNG (mulberry32). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FAULT_KINDS: FaultKind[] = [
  'status500',
  'status502',
  'status503',
  'rateLimit',
  'resetBeforeForward',
  'resetAfterForward',
  'truncateBody',
  'stall',
];

export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const random = seededRandom(options.seed);
  const target = new URL(options.target);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const counts = {
    requests: 0,
    forwarded: 0,
    upstreamFailures: 0,
    clientLeftEarly: 0,
    faults: Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>,
  };
  const stalled = new Set<http.ServerResponse>();
  const events: Array<{ path: string; text: string }> = [];
  const started = Date.now();
  const note = (req: http.IncomingMessage, text: string) =>
    events.push({ path: req.url ?? '', text: `${Date.now() - started} ms ${req.method} ${text}` });

  /** Faults in a row per request (method and URL), for `maxFaultsInARow`. */
  const faultsInARow = new Map<string, number>();
  const maxInARow = options.maxFaultsInARow ?? 4;

  const pickFault = (req: http.IncomingMessage): FaultKind | null => {
    const request = `${req.method} ${req.url}`;
    const kind = drawFault();
    const inARow = faultsInARow.get(request) ?? 0;
    if (kind === null || inARow >= maxInARow) {
      faultsInARow.delete(request);
      return null;
    }
    faultsInARow.set(request, inARow + 1);
    return kind;
  };

  const drawFault = (): FaultKind | null => {
    let r = random();
    for (const kind of FAULT_KINDS) {
      const rate = options.rates[kind] ?? 0;
      if (r < rate) return kind;
      r -= rate;
    }
    return null;
  };

  /** Sends the request on to the real server; resolves with its full response. */
  const forward = (req: http.IncomingMessage) =>
    new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
      counts.forwarded++;
      const upstream = http.request(
        {
          host: target.hostname,
          port: target.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: target.host },
          agent,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) }));
          res.on('error', reject);
        },
      );
      upstream.on('error', reject);
      req.pipe(upstream);
    });

  const sendError = (res: http.ServerResponse, status: number, type: string, extra: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...extra });
    res.end(JSON.stringify({ error: { type, message: `Injected fault: ${type}` } }));
  };

  const server = http.createServer((req, res) => {
    counts.requests++;
    const fault = pickFault(req);
    if (fault) counts.faults[fault]++;
    note(req, `received, fault: ${fault ?? 'none'}`);
    let upstreamFailed = false;
    res.on('close', () => {
      if (res.writableFinished) {
        note(req, `answered ${res.statusCode}`);
        return;
      }
      // Neither a fault nor the server cut it: the client gave up first (its timeout).
      if (!fault && !upstreamFailed) counts.clientLeftEarly++;
      note(req, 'closed without a full answer');
    });

    const drainThen = (fn: () => void) => {
      req.resume();
      req.on('end', fn);
      req.on('error', () => res.destroy());
    };

    switch (fault) {
      case 'status500':
      case 'status502':
      case 'status503': {
        const status = Number(fault.slice(-3));
        drainThen(() => sendError(res, status, 'internal-server-error'));
        return;
      }
      case 'rateLimit':
        drainThen(() =>
          sendError(res, 429, 'rate-limit-exceeded', { 'retry-after': String(options.retryAfterSecs ?? 1) }),
        );
        return;
      case 'resetBeforeForward':
        req.socket.destroy();
        return;
      case 'stall': {
        stalled.add(res);
        const timer = setTimeout(() => res.destroy(), options.stallMillis ?? 10_000);
        res.on('close', () => {
          clearTimeout(timer);
          stalled.delete(res);
        });
        req.resume();
        return;
      }
      default:
        break;
    }

    forward(req).then(
      (answer) => {
        if (fault === 'resetAfterForward') {
          // The server did the work; the client never hears about it.
          res.destroy();
          return;
        }
        const headers = { ...answer.headers };
        delete headers['transfer-encoding'];
        delete headers.connection;
        delete headers['keep-alive'];
        if (fault === 'truncateBody' && answer.body.length > 1) {
          headers['content-length'] = String(answer.body.length);
          res.writeHead(answer.status, headers);
          res.write(answer.body.subarray(0, Math.floor(answer.body.length / 2)), () => res.destroy());
          return;
        }
        if (fault === 'truncateBody') counts.faults.truncateBody--; // nothing to cut short
        headers['content-length'] = String(answer.body.length);
        res.writeHead(answer.status, headers);
        res.end(answer.body);
      },
      (error: Error) => {
        counts.upstreamFailures++;
        upstreamFailed = true;
        note(req, `upstream failed: ${error.message}`);
        res.destroy();
      },
    );
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    eventsFor: (pathPart) => events.filter((e) => e.path.includes(pathPart)).map((e) => e.text),
    close: async () => {
      for (const res of stalled) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}
