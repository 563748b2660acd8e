/** The client object users create. */
import { ConsistencyJournal } from './http/consistency.js';
import { HttpClient, type CallDefaults } from './http/http-client.js';
import { sleep } from './http/sleep.js';
import { resolveOptions, resolveSettable, type ApifyClientOptions, type ResolvedOptions, type SettableClientOptions } from './options.js';
import { KeyValueStoresClient } from './resources/key-value-stores.js';

function callDefaults(options: ResolvedOptions): CallDefaults {
  return {
    timeoutSecs: options.timeoutSecs,
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
 * ```
 */
export class ApifyClient {
  /** Methods for key-value stores and their records. */
  readonly keyValueStores: KeyValueStoresClient;

  private options: ResolvedOptions;
  /** Per-call defaults, kept ready: every request reads them. */
  private callDefaults: CallDefaults;

  /** Creates a client. Throws {@link ApifyArgumentError} for an invalid option. */
  constructor(options: ApifyClientOptions = {}) {
    this.options = resolveOptions(options);
    this.callDefaults = callDefaults(this.options);
    const clock = this.options.clock ?? { now: () => Date.now(), sleep };
    const http = new HttpClient({
      baseUrl: this.options.baseUrl,
      token: () => this.options.token,
      defaults: () => this.callDefaults,
      adapter: this.options.adapter,
      sleep: (ms, signal) => clock.sleep(ms, signal),
    });
    this.keyValueStores = new KeyValueStoresClient({
      http,
      journal: new ConsistencyJournal(this.options.consistencyWindowMillis, undefined, () => clock.now()),
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
