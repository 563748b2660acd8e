/** Writing responses: JSON envelopes, errors and empty answers. Never throws on a closed socket. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError } from './errors.js';

/** True when nothing can be sent any more (client gone or a response already started). */
export function cannotRespond(res: ServerResponse): boolean {
  return res.headersSent || res.destroyed || res.writableEnded;
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (cannotRespond(res)) return;
  // Sent as a string: the socket encodes it straight into its buffer (cheaper than Buffer.from).
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(res.req?.method === 'HEAD' ? undefined : text);
}

/**
 * Sends JSON already encoded, with all headers in one `writeHead` call: `pairs` are extra
 * name/value pairs (the CORS ones).
 */
export function sendJsonBytes(res: ServerResponse, status: number, body: Buffer, pairs: readonly string[]): void {
  if (cannotRespond(res)) return;
  res.writeHead(status, [...pairs, 'Content-Type', 'application/json; charset=utf-8', 'Content-Length', String(body.length)]);
  res.end(res.req?.method === 'HEAD' ? undefined : body);
}

/** The same for JSON as text (small bodies: the socket encodes a string straight into its buffer). */
export function sendJsonText(res: ServerResponse, status: number, text: string, pairs: readonly string[]): void {
  if (cannotRespond(res)) return;
  res.writeHead(status, [...pairs, 'Content-Type', 'application/json; charset=utf-8', 'Content-Length', String(Buffer.byteLength(text))]);
  res.end(res.req?.method === 'HEAD' ? undefined : text);
}

export function sendData(res: ServerResponse, status: number, data: unknown, headers: Record<string, string> = {}): void {
  sendJson(res, status, { data }, headers);
}

export function sendNoContent(res: ServerResponse, headers: Record<string, string> = {}): void {
  if (cannotRespond(res)) return;
  res.writeHead(204, headers);
  res.end();
}

export function sendError(res: ServerResponse, err: ApiError): void {
  sendJson(res, err.status, { error: { type: err.type, message: err.message } }, err.headers);
}

/**
 * Ends a request whose body we will not read (or stopped reading): the answer goes out with
 * `Connection: close`, and the rest of the body is read and dropped (never kept) so the client
 * can finish sending and see the answer instead of a reset. A client that keeps sending past
 * `maxDiscardBytes` is cut off.
 */
export function rejectBody(req: IncomingMessage, res: ServerResponse, err: ApiError, maxDiscardBytes: number): void {
  if (!cannotRespond(res)) res.setHeader('Connection', 'close');
  sendError(res, err);
  if (req.complete || req.destroyed) return;
  let discarded = 0;
  const onData = (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > maxDiscardBytes) req.destroy();
  };
  req.unpipe();
  req.on('data', onData);
  req.on('error', () => {});
  req.resume();
}
