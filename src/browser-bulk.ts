/**
 * The browser's bulk entry (`apify-kv-client/browser/bulk`, `apify-kv-bulk.esm.js` or
 * `apify-kv-bulk.min.js`): importing it once puts `putRecords`, `getRecords` and `deleteRecords`
 * onto the store clients of the main bundle. Its builds take the client classes and errors from
 * the main bundle (see tsup.config.ts), so it adds only the bulk code.
 */
import { KeyValueStoreClient, KeyValueStoresClient } from './public-api.js';
import { installBulkMethods } from './client/resources/bulk-methods.js';

export { DEFAULT_BULK_CONCURRENCY, type BulkInput, type BulkOptions, type BulkRecordInput, type BulkResult } from './client/resources/bulk.js';

installBulkMethods(KeyValueStoreClient, KeyValueStoresClient);
