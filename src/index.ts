/**
 * `apify-kv-client`: a typed client for Apify key-value stores. Safe for the browser: nothing
 * exported here depends on Node built-ins (the Node parts sit behind `client/platform/node.ts`).
 * The browser bundles are built from `browser.ts`, which leaves out the bulk methods.
 * @packageDocumentation
 */
import { KeyValueStoreClient, KeyValueStoresClient } from './public-api.js';
import { installBulkMethods } from './client/resources/bulk-methods.js';

export * from './public-api.js';

installBulkMethods(KeyValueStoreClient, KeyValueStoresClient);
