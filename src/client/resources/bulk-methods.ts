/**
 * The bulk methods (`putRecords`, `getRecords`, `deleteRecords`) of the store clients, put onto
 * their prototypes by `installBulkMethods`. They live apart from the classes so the browser
 * bundle can leave them out: the Node entry installs them at load, the browser gets them from
 * its bulk entry (`apify-kv-client/browser/bulk`). Only type imports of the classes here: the
 * browser bulk entry installs onto the classes of the main bundle, never copies of its own.
 */
import { checkOptionalString, checkRecordKey } from '../validation.js';
import { runBulk } from './bulk.js';
import { BULK_METHODS, defineMethods } from './bulk-names.js';
import type { KeyValueStoreClient } from './key-value-store.js';
import type { KeyValueStoresClient } from './key-value-stores.js';

type BulkMethods<Client extends Record<(typeof BULK_METHODS)[number], unknown>> = Pick<Client, (typeof BULK_METHODS)[number]> & ThisType<Client>;

const storeMethods: BulkMethods<KeyValueStoreClient> = {
  putRecords(records, options = {}) {
    return runBulk('KeyValueStoreClient.putRecords', records, (r) => r.key, async (r, call) => {
      await this.setRecord(r, call);
      return {};
    }, options);
  },
  getRecords(keys, options = {}) {
    return runBulk('KeyValueStoreClient.getRecords', keys, String, async (key, call) => ({ record: await this.getRecord(key, call) }), options);
  },
  deleteRecords(keys, options = {}) {
    return runBulk('KeyValueStoreClient.deleteRecords', keys, String, async (key, call) => {
      await this.deleteRecord(key, call);
      return {};
    }, options);
  },
};

const storesMethods: BulkMethods<KeyValueStoresClient> = {
  putRecords(records, { storeId, ...options } = {}) {
    const store = this.storeClient(storeId);
    return runBulk('KeyValueStoresClient.putRecords', records, (r) => r.key, async (r, call) => {
      await store.writeRecord({ call, key: checkRecordKey(r.key), value: r.body, contentType: checkOptionalString(r.contentType, 'contentType') });
      return {};
    }, options);
  },
  getRecords(keys, { storeId, ...options } = {}) {
    const store = this.storeClient(storeId);
    return runBulk('KeyValueStoresClient.getRecords', keys, String, async (key, call) => ({
      record: await store.readRecord({ call, key: checkRecordKey(key), as: 'value' }),
    }), options);
  },
  deleteRecords(keys, { storeId, ...options } = {}) {
    const store = this.storeClient(storeId);
    return runBulk('KeyValueStoresClient.deleteRecords', keys, String, async (key, call) => {
      await store.removeRecord(call, checkRecordKey(key));
      return {};
    }, options);
  },
};

/** Puts the bulk methods onto the two store clients. @internal */
export function installBulkMethods(store: typeof KeyValueStoreClient, stores: typeof KeyValueStoresClient): void {
  defineMethods(store.prototype, storeMethods);
  defineMethods(stores.prototype, storesMethods);
}
