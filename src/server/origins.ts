/**
 * Which web pages may use the server, and the CORS headers that say so.
 *
 * A server with tokens answers pages from any origin, as the Apify API does: a bearer token is
 * not something a browser adds to a request by itself.
 *
 * A server without tokens lets anyone who reaches it read and change every store, and a browser
 * sends requests for whatever page it shows. So such a server answers only pages from this
 * machine (loopback origins such as `http://localhost:3000`), its own pages (the storage browser)
 * and the origins listed in `allowedOrigins`. Against DNS rebinding (a page whose own domain is
 * made to point at 127.0.0.1, so that its requests look same-origin), a request must also name
 * the server by an IP address, by `localhost`, or by the host of an allowed origin.
 * `allowedOrigins: ['*']` turns both checks off.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { FEATURES_HEADER } from '../rules.js';
import { ApiError } from './errors.js';

const ALLOWED_METHODS = 'GET, HEAD, PUT, POST, DELETE, OPTIONS';
const DEFAULT_ALLOWED_HEADERS = 'Authorization, Content-Type, Content-Encoding, If-None-Match, If-Match';
const EXPOSED_HEADERS = `ETag, Location, Content-Length, Content-Disposition, Content-Type, Last-Modified, ${FEATURES_HEADER}`;
const ANY_ORIGIN_PAIRS: readonly string[] = ['Access-Control-Allow-Origin', '*', 'Access-Control-Expose-Headers', EXPOSED_HEADERS];
const VARY_PAIRS: readonly string[] = ['Vary', 'Origin', 'Access-Control-Expose-Headers', EXPOSED_HEADERS];
const MAX_JUDGED_HOSTS = 256;
/** A header list as a browser sends it in Access-Control-Request-Headers: tokens and commas only. */
const HEADER_LIST = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+(\s*,\s*[A-Za-z0-9!#$%&'*+.^_`|~-]+)*$/;

/** Checks a list of allowed origins; returns them in canonical form. Throws for anything else. */
export function parseAllowedOrigins(origins: readonly string[] | undefined): string[] {
  return (origins ?? []).map((origin) => {
    if (origin === '*') return origin;
    let url: URL | undefined;
    try {
      url = new URL(origin);
    } catch {
      // reported below
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || origin.replace(/\/$/, '') !== url.origin) {
      throw new Error(`Allowed origin "${origin}" is not an origin: give scheme, host and port only, e.g. http://localhost:3000.`);
    }
    return url.origin;
  });
}

/** The host name of a `Host` header value (no port, no IPv6 brackets), lower-cased. */
function hostnameOf(host: string): string {
  const bracketed = /^\[([^\]]+)\]/.exec(host);
  if (bracketed) return bracketed[1]!.toLowerCase();
  return host.replace(/:\d*$/, '').toLowerCase();
}

function isLoopbackName(hostname: string): boolean {
  return (
    hostname === 'localhost' ||
    hostname.endsWith('.localhost') ||
    hostname === '::1' ||
    (isIP(hostname) === 4 && hostname.startsWith('127.'))
  );
}

export class OriginPolicy {
  private readonly anyOrigin: boolean;
  private readonly origins: Set<string>;
  private readonly hosts: Set<string>;
  /** `Host` header values already judged (a client sends the same one on every request). */
  private readonly judgedHosts = new Map<string, boolean>();

  constructor(
    /** Whether requests need a token (then any origin may call). */
    tokens: boolean,
    allowedOrigins: readonly string[] = [],
    /** Base of the URLs the server hands out: its host is the server's own. */
    publicBaseUrl?: string,
  ) {
    const origins = parseAllowedOrigins(allowedOrigins);
    this.anyOrigin = tokens || origins.includes('*');
    this.origins = new Set(origins);
    this.hosts = new Set(origins.filter((o) => o !== '*').map((o) => hostnameOf(new URL(o).host)));
    if (publicBaseUrl) this.hosts.add(hostnameOf(new URL(publicBaseUrl).host));
  }

  /** Throws 403 for a request from a page, or to a host name, this server must not answer. */
  check(req: IncomingMessage): void {
    if (this.anyOrigin) return;
    const host = req.headers.host;
    // No Host header at all: not a browser (every browser sends one).
    if (host !== undefined && !this.isOwnHostHeader(host)) {
      throw new ApiError(
        403,
        'insufficient-permissions',
        `This server has no token, so it answers only requests that name it by an IP address or localhost, not "${hostnameOf(host)}". ` +
          'Allow a host with --allow-origin (or allowedOrigins), or require a token.',
      );
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !this.isAllowedOrigin(origin, host)) {
      throw new ApiError(
        403,
        'insufficient-permissions',
        `This server has no token, so it answers only pages from this machine, not from ${JSON.stringify(origin)}. ` +
          'Allow that origin with --allow-origin (or allowedOrigins), or require a token.',
      );
    }
  }

  /**
   * The CORS headers of an answer as name/value pairs, for one `writeHead(status, pairs)` call
   * (cheaper than `applyHeaders`' setHeader calls). Same headers, same order.
   */
  headerPairs(req: IncomingMessage): readonly string[] {
    if (this.anyOrigin) return ANY_ORIGIN_PAIRS;
    const origin = req.headers.origin;
    return origin === undefined ? VARY_PAIRS : ['Vary', 'Origin', 'Access-Control-Allow-Origin', origin, 'Access-Control-Expose-Headers', EXPOSED_HEADERS];
  }

  /** Sets the CORS headers of an answer. */
  applyHeaders(req: IncomingMessage, res: ServerResponse): void {
    if (this.anyOrigin) {
      res.setHeader('Access-Control-Allow-Origin', '*');
    } else {
      // Only allowed origins get this far (see `check`): name the one that asked.
      res.setHeader('Vary', 'Origin');
      if (req.headers.origin !== undefined) res.setHeader('Access-Control-Allow-Origin', req.headers.origin);
    }
    res.setHeader('Access-Control-Expose-Headers', EXPOSED_HEADERS);
  }

  private isOwnHostHeader(host: string): boolean {
    let own = this.judgedHosts.get(host);
    if (own === undefined) {
      own = this.isOwnHost(hostnameOf(host));
      if (this.judgedHosts.size >= MAX_JUDGED_HOSTS) this.judgedHosts.clear();
      this.judgedHosts.set(host, own);
    }
    return own;
  }

  private isOwnHost(hostname: string): boolean {
    return isIP(hostname) !== 0 || isLoopbackName(hostname) || this.hosts.has(hostname);
  }

  private isAllowedOrigin(origin: string, host: string | undefined): boolean {
    if (this.origins.has(origin)) return true;
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      // `null` (a file, a sandboxed frame) and anything unparsable.
      return false;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
    // The server's own pages, under whatever name the request used for it (checked above).
    if (host !== undefined && url.host === host.toLowerCase()) return true;
    return isLoopbackName(hostnameOf(url.host));
  }
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
