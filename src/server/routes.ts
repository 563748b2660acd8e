/**
 * Maps a request target to a route. Paths are split on `/` BEFORE decoding, then each
 * segment is percent-decoded exactly once, so an encoded `/` or `..` stays inside its
 * segment (and is then refused by validation); nothing here is normalized like a file path.
 */
import { ApiError, invalidInput, invalidRecordKey } from './errors.js';

export type RouteKind = 'stores' | 'store' | 'keys' | 'records' | 'record' | 'direct-upload-url' | 'direct-upload';

export interface Route {
  kind: RouteKind;
  /** Store id, `username~name`, `~name` or a bare name (decoded). */
  storeRef?: string;
  /** Record key (decoded). */
  key?: string;
  /** Set when a segment could not be decoded; reported after the method check. */
  segmentError?: ApiError;
}

/** Methods each route answers (HEAD is allowed wherever GET is). */
export const ROUTE_METHODS: Record<RouteKind, readonly string[]> = {
  stores: ['GET', 'HEAD', 'POST'],
  store: ['GET', 'HEAD', 'PUT', 'DELETE'],
  keys: ['GET', 'HEAD'],
  records: ['GET', 'HEAD'],
  record: ['GET', 'HEAD', 'PUT', 'POST', 'DELETE'],
  'direct-upload-url': ['GET', 'HEAD'],
  'direct-upload': ['PUT'],
};

const BASE = ['v2', 'key-value-stores'];

export interface RequestTarget {
  route: Route | null;
  query: URLSearchParams;
}

/** The query of a target without one: shared by all such requests, and never changed. */
const NO_QUERY = new URLSearchParams();

export function splitTarget(rawUrl: string): { path: string; query: URLSearchParams } {
  const q = rawUrl.indexOf('?');
  if (q === -1 || q === rawUrl.length - 1) return { path: q === -1 ? rawUrl : rawUrl.slice(0, q), query: NO_QUERY };
  let query: URLSearchParams;
  try {
    query = new URLSearchParams(rawUrl.slice(q + 1));
  } catch {
    query = NO_QUERY;
  }
  return { path: rawUrl.slice(0, q), query };
}

export function parseTarget(rawUrl: string): RequestTarget {
  const { path, query } = splitTarget(rawUrl);
  return { route: matchRoute(path), query };
}

const PREFIX = `/${BASE.join('/')}`;

function matchRoute(path: string): Route | null {
  if (!path.startsWith(PREFIX) || (path.length > PREFIX.length && path[PREFIX.length] !== '/')) return null;
  const rest = path.slice(PREFIX.length + 1).split('/');
  if (rest.length > 0 && rest[rest.length - 1] === '') rest.pop(); // one trailing slash is fine
  if (rest.some((s) => s === '')) return null;

  if (rest.length === 0) return { kind: 'stores' };
  let kind: RouteKind;
  if (rest.length === 1) kind = 'store';
  else if (rest.length === 2 && rest[1] === 'keys') kind = 'keys';
  else if (rest[1] !== 'records') return null;
  else if (rest.length === 2) kind = 'records';
  else if (rest.length === 3) kind = 'record';
  else if (rest.length === 4 && rest[3] === 'direct-upload-url') kind = 'direct-upload-url';
  else if (rest.length === 4 && rest[3] === 'direct-upload') kind = 'direct-upload';
  else return null;

  const store = decodeSegment(rest[0]!);
  const route: Route = { kind, storeRef: store ?? rest[0]! };
  if (store === undefined) route.segmentError = invalidInput('The store ID in the URL is not validly percent-encoded.');
  if (rest.length > 2) {
    const key = decodeSegment(rest[2]!);
    route.key = key ?? rest[2]!;
    if (key === undefined && store !== undefined) {
      route.segmentError = invalidRecordKey('The record key in the URL is not validly percent-encoded.');
    }
  }
  return route;
}

/** `segment` percent-decoded; `undefined` when it is not validly encoded. */
function decodeSegment(segment: string): string | undefined {
  if (!segment.includes('%')) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** First value of a query parameter, `undefined` when absent. */
export function queryValue(query: URLSearchParams, name: string): string | undefined {
  const value = query.get(name);
  return value === null ? undefined : value;
}

/** A route's template, for logs and metrics: the path with its store and key left out. */
export const ROUTE_TEMPLATES: Record<RouteKind, string> = {
  stores: PREFIX,
  store: `${PREFIX}/:storeId`,
  keys: `${PREFIX}/:storeId/keys`,
  records: `${PREFIX}/:storeId/records`,
  record: `${PREFIX}/:storeId/records/:recordKey`,
  'direct-upload-url': `${PREFIX}/:storeId/records/:recordKey/direct-upload-url`,
  'direct-upload': `${PREFIX}/:storeId/records/:recordKey/direct-upload`,
};

/**
 * The template of a request target, never its store, key or query (which may hold a token).
 * `extraPaths`: other fixed paths the server answers (probes, metrics); anything else outside
 * `/v2` is `(static)` when `isStatic` says so, else `(unmatched)`.
 */
export function routeTemplate(rawUrl: string, extraPaths: ReadonlySet<string>, isStatic: (path: string) => boolean): string {
  const { path } = splitTarget(rawUrl);
  const route = matchRoute(path);
  if (route) return ROUTE_TEMPLATES[route.kind];
  if (path.startsWith(`${PREFIX}/`) || path === PREFIX) return '(unmatched)';
  if (extraPaths.has(path)) return path;
  return isStatic(path) ? '(static)' : '(unmatched)';
}
