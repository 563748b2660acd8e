/** Iterating a store's keys over pages of the keys listing. */
import type { KeyValueStoreKey, KeyValueStoreKeys } from '../types.js';

/** The query of one page of keys (as `KeyValueStoreClient.keysPage` takes it). */
export interface KeyPagesQuery {
  exclusiveStartKey?: string;
  limit?: number;
  pageSize?: number;
}

/**
 * Every key from the query on, page by page; `q.limit` caps the total. Stops on the last page,
 * and also if the server ever hands back a next key that does not move forward.
 */
export async function* iterateKeyPages<Q extends KeyPagesQuery>(
  q: Q,
  fetchPage: (query: Q, maxLimit: number) => Promise<KeyValueStoreKeys>,
  first?: Promise<KeyValueStoreKeys>,
): AsyncGenerator<KeyValueStoreKey, void, undefined> {
  let left = q.limit ?? Infinity;
  // Pages of `pageSize` (or the server's default), never more than the total still wanted.
  // Without a page size, what is left is asked for, as apify-client v2 does (the server caps it).
  const pageLimit = () => (left === Infinity ? q.pageSize : Math.min(q.pageSize ?? Infinity, left));
  const maxLimit = q.pageSize ? 1000 : Infinity;
  let after = q.exclusiveStartKey;
  let pending = first ?? fetchPage({ ...q, limit: pageLimit() }, maxLimit);
  for (;;) {
    const page = await pending;
    const items = page.items.slice(0, left);
    yield* items;
    left -= items.length;
    const next = page.nextExclusiveStartKey;
    if (left <= 0 || !page.isTruncated || next === null || next === after || items.length === 0) return;
    after = next;
    pending = fetchPage({ ...q, exclusiveStartKey: after, limit: pageLimit() }, maxLimit);
  }
}
