/** The client object users create. */
import { AdaptiveRateLimiter } from './http/adaptive-rate.js';
import { RetryBudget } from './http/retry-budget.js';
import { ConsistencyJournal } from './http/consistency.js';
import { HttpClient, type CallDefaults } from './http/http-client.js';
import { sleep } from './http/sleep.js';
import { resolveOptions, resolveSettable, type ApifyClientOptions, type ResolvedOptions, type SettableClientOptions } from './options.js';
import type { ResourceContext } from './resources/context.js';
import { JournaledReads } from './resources/journaled-reads.js';
import { KeyValueStoreClient } from './resources/key-value-store.js';
import { KeyValueStoresClient } from './resources/key-value-stores.js';
import { KeyValueStoreCollectionClient } from './resources/store-collection.js';

/**
 * `client.keyValueStores`: the seed's flat API (`client.keyValueStores.getOrCreateStore(...)`),
 * and callable as apify-client v2's `client.keyValueStores()`, which returns the collection
 * client (`list`, `getOrCreate`).
 */
export type KeyValueStoresApi = KeyValueStoresClient & (() => KeyValueStoreCollectionClient);

/** One function object with both shapes: called, it gives the collection; its methods are the flat API's. */
function callableStores(flat: KeyValueStoresClient, collection: KeyValueStoreCollectionClient): KeyValueStoresApi {
  const api = () => collection;
  // The flat client's fields and methods are found through the prototype chain.
  Object.setPrototypeOf(api, flat);
  return api as KeyValueStoresApi;
}

function callDefaults(options: ResolvedOptions): CallDefaults {
  return {
    timeoutSecs: options.timeoutSecs,
    totalTimeoutSecs: options.totalTimeoutSecs,
    retry: {
      maxRetries: options.maxRetries,
      baseDelayMillis: options.minDelayBetweenRetriesMillis,
      maxDelayMillis: options.maxDelayBetweenRetriesMillis,
      maxRetryAfterMillis: options.maxRetryAfterMillis,
    },
  };
}

/**
 * Client of the Apify key-value-store API.
 *
 * ```ts
 * const client = new ApifyClient({ token: process.env.APIFY_TOKEN });
 * const store = await client.keyValueStores.getOrCreateStore({ storeName: 'my-store' });
 * client.setOptions({ storeId: store.id });
 * await client.keyValueStores.putRecord({ key: 'greeting', body: { hello: 'world' } });
 * // or, with apify-client v2's names:
 * await client.keyValueStore(store.id).setRecord({ key: 'greeting', value: { hello: 'world' } });
 * ```
 */
export class ApifyClient {
  /**
   * Methods for key-value stores and their records, each naming its store in its options; also
   * callable, as in apify-client v2: `client.keyValueStores().list()`, `.getOrCreate(name)`.
   */
  readonly keyValueStores: KeyValueStoresApi;

  private options: ResolvedOptions;
  /** Per-call defaults, kept ready: every request reads them. */
  private callDefaults: CallDefaults;
  private readonly journal: ConsistencyJournal;
  private readonly context: ResourceContext;

  /** Creates a client. Throws {@link ApifyArgumentError} for an invalid option. */
  constructor(options: ApifyClientOptions = {}) {
    this.options = resolveOptions(options);
    this.callDefaults = callDefaults(this.options);
    const clock = this.options.clock ?? { now: () => Date.now(), sleep };
    const now = () => clock.now();
    const wait = (ms: number, signal?: AbortSignal) => clock.sleep(ms, signal);
    const http = new HttpClient({
      baseUrl: this.options.baseUrl,
      token: () => this.options.token,
      defaults: () => this.callDefaults,
      adapter: this.options.adapter,
      sleep: wait,
      now,
      userAgentSuffix: this.options.userAgentSuffix,
      requestInterceptors: this.options.requestInterceptors,
      rateLimiter: this.options.rateLimit === 'adaptive' ? new AdaptiveRateLimiter({ now, sleep: wait }) : undefined,
      retryBudget: this.options.retryBudget ? new RetryBudget(this.options.retryBudget) : undefined,
    });
    this.journal = new ConsistencyJournal(this.options.consistencyWindowMillis, undefined, now);
    const context: ResourceContext = {
      http,
      reads: new JournaledReads({
        journal: this.journal,
        // A plain read of the store, outside the journal: only to learn the id behind an alias.
        lookUpStore: (ref, call) => new KeyValueStoreClient({ ...context, reads: noJournal }, ref).fetchStore(call),
        now,
        sleep: wait,
      }),
      features: {},
      defaultStoreId: () => this.options.storeId,
      maxPayloadBytes: () => this.options.maxPayloadBytes,
      integrity: () => this.options.integrity,
      timeoutSecs: () => this.options.timeoutSecs,
      baseUrl: this.options.baseUrl,
      publicBaseUrl: this.options.publicBaseUrl,
      now,
    };
    const noJournal = new JournaledReads({
      journal: new ConsistencyJournal(0),
      lookUpStore: async () => null,
      now,
      sleep: wait,
    });
    this.context = context;
    this.keyValueStores = callableStores(new KeyValueStoresClient(context), new KeyValueStoreCollectionClient(context));
  }

  /**
   * A client bound to one store, with apify-client v2's method names: `get`, `update`, `delete`,
   * `listKeys`, `getRecord`, `recordExists`, `setRecord`, `deleteRecord`, `getRecordPublicUrl`,
   * `createKeysPublicUrl`. `id` is the store's id, `username~store-name` or `~store-name`.
   */
  keyValueStore(id: string): KeyValueStoreClient {
    return new KeyValueStoreClient(this.context, id);
  }

  /**
   * Changes options of this client: `token`, `storeId`, `maxRetries`, `timeoutSecs`,
   * `totalTimeoutSecs`. Options left out keep their value; `storeId: undefined` or
   * `token: undefined` clears it. A new token also clears what the client remembers of its own
   * writes and of store names (another account's stores may have the same names). Calls already
   * running are not affected.
   */
  setOptions(options: SettableClientOptions): void {
    const settable = resolveSettable(options);
    if ('token' in settable) this.journal.clear();
    this.options = { ...this.options, ...settable };
    this.callDefaults = callDefaults(this.options);
  }

  /** The API origin this client talks to. */
  get baseUrl(): string {
    return this.options.baseUrl;
  }

  /** The default store id, if one is set. */
  get storeId(): string | undefined {
    return this.options.storeId;
  }
}
