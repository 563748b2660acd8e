/**
 * The collection of stores: list them, get or create one by name. With apify-client v2's
 * names, as `client.keyValueStores()` returns it.
 */
import { ApifyArgumentError } from '../http/errors.js';
import { encodeBody } from '../body.js';
import type { CallOptions } from '../http/http-client.js';
import type { KeyValueStore, ListStoresOptions, PaginatedIterator, PaginatedList } from '../types.js';
import { checkInteger, checkStoreName } from '../validation.js';
import type {
  KeyValueStoreCollectionClientGetOrCreateOptions,
  KeyValueStoreCollectionClientListOptions,
  KeyValueStoreCollectionListResult,
} from '../v2-types.js';
import { callOptions, paginate, STORES_PATH, toStore, type ResourceContext } from './context.js';

/** The query of one page of stores. */
type StoresQuery = {
  offset?: number;
  limit?: number;
  desc?: boolean;
  unnamed?: boolean;
  ownership?: 'ownedByMe' | 'sharedWithMe';
};

const LIST_OPTIONS = ['offset', 'limit', 'desc', 'unnamed', 'ownership'];

/** `GET` and `POST` of `/v2/key-value-stores`. Get it as `client.keyValueStores()`. */
export class KeyValueStoreCollectionClient {
  /** @internal */
  constructor(private readonly ctx: ResourceContext) {}

  /**
   * One page of the token owner's stores (`GET /v2/key-value-stores`); also an async iterable of
   * every store from `offset` on, page after page (`limit` then caps the total).
   */
  list(options: KeyValueStoreCollectionClientListOptions & CallOptions = {}): PaginatedIterator<KeyValueStoreCollectionListResult, KeyValueStore> {
    return this.listStores(options, 'KeyValueStoreCollectionClient.list') as PaginatedIterator<KeyValueStoreCollectionListResult, KeyValueStore>;
  }

  /**
   * The store with this name, created if there is none (`POST /v2/key-value-stores?name=`);
   * without a name, a new unnamed store. `schema` is sent as the body, as v2 sends it.
   */
  async getOrCreate(name?: string, options: KeyValueStoreCollectionClientGetOrCreateOptions & CallOptions = {}): Promise<KeyValueStore> {
    const call = callOptions(options, 'KeyValueStoreCollectionClient.getOrCreate', ['schema']);
    if (options.schema !== undefined && (typeof options.schema !== 'object' || options.schema === null)) {
      throw new ApifyArgumentError('schema', 'schema must be an object');
    }
    return this.create(name, call, options.schema);
  }

  /** {@link list} under the name of the calling method. @internal */
  listStores(options: ListStoresOptions, method: string): PaginatedIterator<PaginatedList<KeyValueStore>, KeyValueStore> {
    return paginate(() => {
      const call = callOptions(options, method, LIST_OPTIONS);
      const { desc, unnamed, ownership } = options;
      if (ownership !== undefined && ownership !== 'ownedByMe' && ownership !== 'sharedWithMe') {
        throw new ApifyArgumentError('ownership', 'ownership must be "ownedByMe" or "sharedWithMe"');
      }
      const query = { offset: checkInteger(options.offset, 'offset', 0), limit: checkInteger(options.limit, 'limit', 1), desc, unnamed, ownership };
      return [this.page(call, query), (first) => this.iterate(call, query, first)];
    });
  }

  /** POST of the collection; a request without a name is never repeated blindly. @internal */
  async create(name: string | undefined, call: CallOptions, schema?: Record<string, unknown>): Promise<KeyValueStore> {
    const checked = name === undefined ? undefined : checkStoreName(name);
    const body = schema === undefined ? undefined : await encodeBody({ schema }, 'application/json');
    const response = await this.ctx.http.request({ method: 'POST', path: STORES_PATH, call, query: { name: checked }, body, idempotent: checked !== undefined });
    const store = toStore(response.data());
    this.ctx.reads.learnOwn(store);
    return store;
  }

  private async page(call: CallOptions, query: StoresQuery): Promise<PaginatedList<KeyValueStore>> {
    const list = (await this.ctx.http.request({ method: 'GET', path: STORES_PATH, call, query })).data<PaginatedList<Record<string, unknown>>>();
    const items = (Array.isArray(list.items) ? list.items : []).map(toStore);
    // Stores listed as the owner's are the token's own: their `~name` is known from here on.
    for (const store of items) this.ctx.reads.learn(store);
    return { ...list, items };
  }

  /**
   * Every store from `offset` on. As apify-client v2 does: the total of the first page bounds the
   * walk, and each next page asks for exactly what is left of it (and of `limit`).
   */
  private async *iterate(call: CallOptions, query: StoresQuery, first: Promise<PaginatedList<KeyValueStore>>) {
    let page = await first;
    yield* page.items;
    const total = typeof page.total === 'number' ? page.total : Infinity;
    const start = query.offset ?? 0;
    let offset = start + page.items.length;
    let left = Math.min(total - start, Math.min(query.limit || total, total)) - page.items.length;
    while (page.items.length > 0 && left > 0) {
      page = await this.page(call, { ...query, offset, limit: left === Infinity ? query.limit : left });
      const items = page.items.slice(0, left);
      yield* items;
      left -= items.length;
      offset += items.length;
    }
  }
}
