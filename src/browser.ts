/**
 * The entry of the browser bundles: the whole client except the bulk methods, which come in a
 * bundle of their own (`browser-bulk.ts`) to keep this one within its size budget. Until that is
 * loaded, calling one of them says where it is.
 */
import { KeyValueStoreClient, KeyValueStoresClient } from './public-api.js';
import { BULK_METHODS, defineMethods } from './client/resources/bulk-names.js';

export * from './public-api.js';

for (const client of [KeyValueStoreClient, KeyValueStoresClient]) {
  defineMethods(
    client.prototype,
    Object.fromEntries(BULK_METHODS.map((name) => [name, () => {
      throw new Error(`${name} is in the bulk bundle: import 'apify-kv-client/browser/bulk' once`);
    }])),
  );
}
