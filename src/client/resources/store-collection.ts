/** The collection of stores: list them, get or create one by name. */
import { ApifyArgumentError } from '../http/errors.js';
import type { CallOptions } from '../http/http-client.js';
import type { KeyValueStore, ListStoresOptions, PaginatedIterator, PaginatedList } from '../types.js';
import { checkInteger, checkStoreName } from '../validation.js';
import { callOptions, paginate, STORES_PATH, toStore, type ResourceContext } from './context.js';

/** The query of one page of stores. */
type StoresQuery = {
  offset?: number;
  limit?: number;
  desc?: boolean;
  unnamed?: boolean;
  ownership?: 'ownedByMe' | 'sharedWithMe';
};

/** `GET` and `POST` of `/v2/key-value-stores`. @internal */
export class StoreCollectionClient {
  constructor(private readonly ctx: ResourceContext) {}

  /**
   * One page of the token owner's stores; also an async iterable of every store from `offset`
   * on, page after page (`limit` then caps the total).
   */
  list(options: ListStoresOptions = {}): PaginatedIterator<PaginatedList<KeyValueStore>, KeyValueStore> {
    return paginate(() => {
      const call = callOptions(options, 'listStores');
      const { desc, unnamed, ownership } = options;
      if (ownership !== undefined && ownership !== 'ownedByMe' && ownership !== 'sharedWithMe') {
        throw new ApifyArgumentError('ownership', 'ownership must be "ownedByMe" or "sharedWithMe"');
      }
      const query = { offset: checkInteger(options.offset, 'offset', 0), limit: checkInteger(options.limit, 'limit', 1), desc, unnamed, ownership };
      return [this.page(call, query), (first) => this.iterate(call, query, first)];
    });
  }

  /**
   * The store with this name, created if there is none (`POST /v2/key-value-stores?name=`).
   * Without a name, a new unnamed store (such a request is never repeated blindly).
   */
  async getOrCreate(name: string | undefined, call: CallOptions): Promise<KeyValueStore> {
    const checked = name === undefined ? undefined : checkStoreName(name);
    const response = await this.ctx.http.request({ method: 'POST', path: STORES_PATH, call, query: { name: checked }, idempotent: checked !== undefined });
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

  private async *iterate(call: CallOptions, query: StoresQuery, first: Promise<PaginatedList<KeyValueStore>>) {
    let left = query.limit ?? Infinity;
    let offset = query.offset ?? 0;
    let pending = first;
    for (;;) {
      const page = await pending;
      const items = page.items.slice(0, left);
      yield* items;
      left -= items.length;
      offset += page.items.length;
      if (left <= 0 || page.items.length === 0 || (typeof page.total === 'number' && offset >= page.total)) return;
      pending = this.page(call, { ...query, offset, limit: left === Infinity ? query.limit : left });
    }
  }
}
