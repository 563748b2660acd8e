/**
 * Everything the client exports, in Node and in the browser. The entry points add the bulk
 * methods: `index.ts` (Node) installs them, `browser.ts` leaves them to `browser-bulk.ts`.
 */
export { ApifyClient, type KeyValueStoresApi } from './client/apify-client.js';
export {
  DEFAULT_BASE_URL,
  DEFAULT_CONSISTENCY_WINDOW_MILLIS,
  DEFAULT_MAX_PAYLOAD_BYTES,
  DEFAULT_TIMEOUT_SECS,
  type ApifyClientOptions,
  type SettableClientOptions,
} from './client/options.js';
export { KeyValueStoresClient } from './client/resources/key-value-stores.js';
export { KeyValueStoreClient } from './client/resources/key-value-store.js';
export { KeyValueStoreCollectionClient } from './client/resources/store-collection.js';
export {
  DEFAULT_BULK_CONCURRENCY,
  type BulkInput,
  type BulkOptions,
  type BulkRecordInput,
  type BulkResult,
} from './client/resources/bulk.js';
export type {
  JsonValue,
  KeyValueClientCreateKeysUrlOptions,
  KeyValueClientGetRecordOptions,
  KeyValueClientListKeysOptions,
  KeyValueClientListKeysResult,
  KeyValueClientUpdateOptions,
  KeyValueListItem,
  KeyValueStoreCollectionClientGetOrCreateOptions,
  KeyValueStoreCollectionClientListOptions,
  KeyValueStoreCollectionListResult,
  KeyValueStoreRecordOptions,
  ReturnTypeFromOptions,
} from './client/v2-types.js';
export { createHmacSignature, createStorageContentSignature } from './client/signing.js';
export {
  ApifyApiError,
  ApifyArgumentError,
  ApifyNetworkError,
  API_ERROR_NAME,
  ARGUMENT_ERROR_NAME,
  NETWORK_ERROR_NAME,
  isApifyApiError,
  isApifyArgumentError,
  isApifyNetworkError,
  type ApifyKvErrorFields,
  type NetworkErrorType,
  type RequestDetails,
} from './client/http/errors.js';
export { DEFAULT_RETRY_POLICY, type RetryPolicy } from './client/http/retry.js';
export { DEFAULT_RETRY_BUDGET, type RetryBudgetOptions } from './client/http/retry-budget.js';
export type { AdapterOption, CallOptions, RequestInterceptorFunction } from './client/http/http-client.js';
export type { ProgressCallback, ProgressOptions, TransferProgress } from './client/http/progress.js';
export { RECORD_KEY_PATTERN, STORE_NAME_PATTERN } from './client/validation.js';
export type {
  DeleteRecordOptions,
  DeleteStoreOptions,
  GeneralAccess,
  GetOrCreateStoreOptions,
  GetRecordInfoOptions,
  GetRecordOptions,
  GetStoreOptions,
  IterateKeysOptions,
  KeysPublicUrlOptions,
  KeyValueStore,
  KeyValueStoreKey,
  KeyValueStoreKeys,
  KeyValueStoreRecord,
  KeyValueStoreRecordInfo,
  KeyValueStoreRecordWithBody,
  KeyValueStoreStats,
  ListKeysOptions,
  ListStoresOptions,
  NodeBuffer,
  NodeReadable,
  PaginatedIterator,
  PaginatedList,
  PlatformStream,
  PutRecordOptions,
  ReadableLike,
  RecordBytes,
  RecordExistsOptions,
  RecordStream,
  RecordValue,
  SetRecordOptions,
  StoreDeleteRecordOptions,
  StoreGetRecordOptions,
  StoreListKeysOptions,
  StoreRecord,
  StoreRecordInput,
  StoreSetRecordOptions,
  StoreTarget,
  StoreUpdate,
  UpdateStoreOptions,
  WaitOptions,
} from './client/types.js';
