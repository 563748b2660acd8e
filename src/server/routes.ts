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

export function splitTarget(rawUrl: string): { path: string; query: URLSearchParams } {
  const q = rawUrl.indexOf('?');
  const path = q === -1 ? rawUrl : rawUrl.slice(0, q);
  const search = q === -1 ? '' : rawUrl.slice(q + 1);
  let query: URLSearchParams;
  try {
    query = new URLSearchParams(search);
  } catch {
    query = new URLSearchParams();
  }
  return { path, query };
}

export function parseTarget(rawUrl: string): RequestTarget {
  const { path, query } = splitTarget(rawUrl);
  return { route: matchRoute(path), query };
}

function matchRoute(path: string): Route | null {
  if (!path.startsWith('/')) return null;
  const raw = path.slice(1).split('/');
  if (raw.length > BASE.length && raw[raw.length - 1] === '') raw.pop(); // one trailing slash is fine
  if (raw.length < BASE.length || raw[0] !== BASE[0] || raw[1] !== BASE[1]) return null;
  const rest = raw.slice(BASE.length);
  if (rest.some((s) => s === '')) return null;

  if (rest.length === 0) return { kind: 'stores' };
  const store = decodeSegment(rest[0]!);
  const route: Route = { kind: 'store', storeRef: store.value };
  if (store.error) route.segmentError = invalidInput('The store ID in the URL is not validly percent-encoded.');

  if (rest.length === 1) return route;
  if (rest.length === 2 && rest[1] === 'keys') return { ...route, kind: 'keys' };
  if (rest[1] !== 'records') return null;
  if (rest.length === 2) return { ...route, kind: 'records' };

  const key = decodeSegment(rest[2]!);
  const withKey: Route = { ...route, kind: 'record', key: key.value };
  if (key.error && !route.segmentError) {
    withKey.segmentError = invalidRecordKey('The record key in the URL is not validly percent-encoded.');
  }
  if (rest.length === 3) return withKey;
  if (rest.length === 4 && rest[3] === 'direct-upload-url') return { ...withKey, kind: 'direct-upload-url' };
  if (rest.length === 4 && rest[3] === 'direct-upload') return { ...withKey, kind: 'direct-upload' };
  return null;
}

function decodeSegment(segment: string): { value: string; error: boolean } {
  try {
    return { value: decodeURIComponent(segment), error: false };
  } catch {
    return { value: segment, error: true };
  }
}

/** First value of a query parameter, `undefined` when absent. */
export function queryValue(query: URLSearchParams, name: string): string | undefined {
  const value = query.get(name);
  return value === null ? undefined : value;
}
