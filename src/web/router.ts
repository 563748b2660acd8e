/**
 * The page's addresses (hash routes, so the server serves one file):
 * `#/` the stores (`#/?unnamed=1` with unnamed ones), `#/stores/{id}` a store's records,
 * `#/stores/{id}/settings`, `#/stores/{id}/api`, and `#/stores/{id}/records/{key}` one record.
 * The records list's key filter rides along as `#/stores/{id}?prefix=P`, so a reload keeps it.
 */

export type StoreTab = 'records' | 'settings' | 'api';

export type Route =
  | { view: 'stores'; unnamed: boolean }
  | { view: 'store'; storeId: string; tab: StoreTab; key?: string; prefix?: string }
  | { view: 'not-found' };

export function parseHash(hash: string): Route {
  const raw = hash.replace(/^#/, '');
  const q = raw.indexOf('?');
  const path = q === -1 ? raw : raw.slice(0, q);
  const query = new URLSearchParams(q === -1 ? '' : raw.slice(q + 1));
  const parts = path.split('/').filter((part) => part !== '');
  let segments: string[];
  try {
    segments = parts.map((part) => decodeURIComponent(part));
  } catch {
    return { view: 'not-found' };
  }
  if (segments.length === 0) return { view: 'stores', unnamed: query.get('unnamed') === '1' };
  if (segments[0] !== 'stores' || segments.length < 2) return { view: 'not-found' };
  const storeId = segments[1]!;
  if (segments.length === 2) return { view: 'store', storeId, tab: 'records', prefix: query.get('prefix') || undefined };
  if (segments.length === 3 && (segments[2] === 'settings' || segments[2] === 'api')) return { view: 'store', storeId, tab: segments[2] };
  if (segments.length === 4 && segments[2] === 'records') return { view: 'store', storeId, tab: 'records', key: segments[3]! };
  return { view: 'not-found' };
}

export function hrefOf(route: Route): string {
  if (route.view === 'stores') return route.unnamed ? '#/?unnamed=1' : '#/';
  if (route.view === 'not-found') return '#/';
  const store = `#/stores/${encodeURIComponent(route.storeId)}`;
  if (route.key !== undefined) return `${store}/records/${encodeURIComponent(route.key)}`;
  if (route.tab !== 'records') return `${store}/${route.tab}`;
  return route.prefix ? `${store}?prefix=${encodeURIComponent(route.prefix)}` : store;
}
