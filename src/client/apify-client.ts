/** The client object users create. */
import { ConsistencyJournal } from './http/consistency.js';
import { HttpClient } from './http/http-client.js';
import { sleep } from './http/sleep.js';
import { resolveOptions, resolveSettable, type ApifyClientOptions, type ResolvedOptions, type SettableClientOptions } from './options.js';
import { KeyValueStoresClient } from './resources/key-value-stores.js';

/**
 * Client of the Apify key-value-store API.
 *
 * ```ts
 * const client = new ApifyClient({ token: process.env.APIFY_TOKEN });
 * const store = await client.keyValueStores.getOrCreateStore({ storeName: 'my-store' });
 * client.setOptions({ storeId: store.id });
 * await client.keyValueStores.putRecord({ key: 'greeting', body: { hello: 'world' } });
 * ```
 */
export class ApifyClient {
  /** Methods for key-value stores and their records. */
  readonly keyValueStores: KeyValueStoresClient;

  private options: ResolvedOptions;
  private readonly http: HttpClient;
  private readonly journal: ConsistencyJournal;

  /** Creates a client. Throws {@link ApifyArgumentError} for an invalid option. */
  constructor(options: ApifyClientOptions = {}) {
    this.options = resolveOptions(options);
    const clock = this.options.clock ?? { now: () => Date.now(), sleep };
    this.http = new HttpClient({
      baseUrl: this.options.baseUrl,
      token: () => this.options.token,
      defaults: () => ({
        timeoutSecs: this.options.timeoutSecs,
        retry: {
          maxRetries: this.options.maxRetries,
          baseDelayMillis: this.options.minDelayBetweenRetriesMillis,
          maxDelayMillis: this.options.maxDelayBetweenRetriesMillis,
          maxRetryAfterMillis: this.options.maxRetryAfterMillis,
        },
      }),
      adapter: this.options.adapter,
      sleep: (ms, signal) => clock.sleep(ms, signal),
    });
    this.journal = new ConsistencyJournal(this.options.consistencyWindowMillis, undefined, () => clock.now());
    this.keyValueStores = new KeyValueStoresClient({
      http: this.http,
      journal: this.journal,
      defaultStoreId: () => this.options.storeId,
      maxPayloadBytes: () => this.options.maxPayloadBytes,
      baseUrl: this.options.baseUrl,
      now: () => clock.now(),
      sleep: (ms, signal) => clock.sleep(ms, signal),
    });
  }

  /**
   * Changes options of this client: `token`, `storeId`, `maxRetries`, `timeoutSecs`. Options left
   * out keep their value; `storeId: undefined` or `token: undefined` clears it. Calls already
   * running are not affected.
   */
  setOptions(options: SettableClientOptions): void {
    this.options = { ...this.options, ...resolveSettable(options) };
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
