/**
 * HTTP/1.1 requests written byte for byte on a TCP socket, so a test can send what no HTTP
 * library would: raw control characters in the target, Content-Length headers that lie,
 * duplicate headers. Each request uses its own connection (`Connection: close`).
 */
import net from 'node:net';

export interface RawRequest {
  method: string;
  /** The request target exactly as it goes on the wire (may hold any byte but CR and LF). */
  target: string | Buffer;
  /** Header lines in order; duplicates allowed. Host and Connection are added. */
  headers?: Array<[string, string]>;
  body?: Buffer;
  /** Give up waiting for an answer after this long. */
  timeoutMillis: number;
}

export type RawOutcome =
  | { kind: 'answer'; status: number; headers: Record<string, string>; body: Buffer; complete: boolean }
  /** The connection closed before a whole status line and headers came back. */
  | { kind: 'closed'; received: Buffer }
  | { kind: 'timeout'; received: Buffer };

export function sendRaw(port: number, request: RawRequest): Promise<RawOutcome> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (outcome: RawOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => {
      const received = Buffer.concat(chunks);
      const answer = parseResponse(received, request.method);
      // Headers and a whole body already in: the server answered and merely keeps the socket.
      finish(answer?.complete ? answer : { kind: 'timeout', received });
    }, request.timeoutMillis);

    socket.on('connect', () => {
      const head = [
        Buffer.from(`${request.method} `, 'latin1'),
        Buffer.isBuffer(request.target) ? request.target : Buffer.from(request.target, 'utf8'),
        Buffer.from(` HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n`, 'latin1'),
        ...(request.headers ?? []).map(([name, value]) => Buffer.from(`${name}: ${value}\r\n`, 'latin1')),
        Buffer.from('\r\n', 'latin1'),
      ];
      // The server may answer and close before it has read the whole body.
      socket.write(Buffer.concat([...head, request.body ?? Buffer.alloc(0)]), () => {});
    });
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      const answer = parseResponse(Buffer.concat(chunks), request.method);
      if (answer?.complete) finish(answer);
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      const received = Buffer.concat(chunks);
      finish(parseResponse(received, request.method, true) ?? { kind: 'closed', received });
    });
  });
}

/**
 * Parses the first final (non-1xx) response in `data`, or returns null if its head is not all
 * there. `closed`: the connection has ended, which completes a body without a declared length.
 */
export function parseResponse(
  data: Buffer,
  method: string,
  closed = false,
): Extract<RawOutcome, { kind: 'answer' }> | null {
  let offset = 0;
  for (;;) {
    const end = data.indexOf('\r\n\r\n', offset);
    if (end === -1) return null;
    const lines = data.subarray(offset, end).toString('latin1').split('\r\n');
    const match = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]!);
    if (!match) return null;
    const status = Number(match[1]);
    const bodyStart = end + 4;
    if (status >= 100 && status < 200) {
      offset = bodyStart; // an interim answer (100 Continue); the real one follows
      continue;
    }
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const rest = data.subarray(bodyStart);
    if (method === 'HEAD' || status === 204 || status === 304) {
      return { kind: 'answer', status, headers, body: Buffer.alloc(0), complete: true };
    }
    if (headers['transfer-encoding']?.toLowerCase() === 'chunked') {
      const body = dechunk(rest);
      return { kind: 'answer', status, headers, body: body ?? rest, complete: body !== null };
    }
    if (headers['content-length'] !== undefined) {
      const length = Number(headers['content-length']);
      return { kind: 'answer', status, headers, body: rest.subarray(0, length), complete: rest.length >= length };
    }
    // Body delimited by the connection's end: complete only once the socket closed.
    return { kind: 'answer', status, headers, body: rest, complete: closed };
  }
}

/** Decodes a chunked body; null while the last chunk has not arrived. */
function dechunk(data: Buffer): Buffer | null {
  const parts: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', offset);
    if (lineEnd === -1) return null;
    const size = parseInt(data.subarray(offset, lineEnd).toString('latin1'), 16);
    if (!Number.isFinite(size)) return null;
    if (size === 0) return Buffer.concat(parts);
    const start = lineEnd + 2;
    if (data.length < start + size + 2) return null;
    parts.push(data.subarray(start, start + size));
    offset = start + size + 2;
  }
}
