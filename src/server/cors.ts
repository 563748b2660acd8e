/** CORS: any origin may call the API (no cookies are used, auth is a bearer token). */
import type { IncomingMessage, ServerResponse } from 'node:http';

const ALLOWED_METHODS = 'GET, HEAD, PUT, POST, DELETE, OPTIONS';
const DEFAULT_ALLOWED_HEADERS = 'Authorization, Content-Type, Content-Encoding, If-None-Match';
const EXPOSED_HEADERS = 'ETag, Location, Content-Length, Content-Disposition, Content-Type, Last-Modified';
/** A header list as a browser sends it in Access-Control-Request-Headers: tokens and commas only. */
const HEADER_LIST = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+(\s*,\s*[A-Za-z0-9!#$%&'*+.^_`|~-]+)*$/;

export function applyCorsHeaders(res: ServerResponse): void {
  res.setHeader('Access-Control-Allow-Origin', '*');
  res.setHeader('Access-Control-Expose-Headers', EXPOSED_HEADERS);
}

/** Answers a preflight request: 204 with what is allowed. */
export function answerPreflight(req: IncomingMessage, res: ServerResponse): void {
  const requested = req.headers['access-control-request-headers'];
  // Echo the requested headers so custom client headers pass; fall back to the ones we read.
  const allowHeaders =
    typeof requested === 'string' && requested.length <= 1000 && HEADER_LIST.test(requested.trim())
      ? `${DEFAULT_ALLOWED_HEADERS}, ${requested.trim()}`
      : DEFAULT_ALLOWED_HEADERS;
  res.writeHead(204, {
    'Access-Control-Allow-Methods': ALLOWED_METHODS,
    'Access-Control-Allow-Headers': allowHeaders,
    'Access-Control-Max-Age': '600',
    Allow: ALLOWED_METHODS,
  });
  res.end();
}
