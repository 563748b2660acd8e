/**
 * Compare-and-set on one record: read the value and its ETag, compute the new value, write it only
 * while the record is still that version (`If-Match`; `If-None-Match: *` when there was none), and
 * start over when another writer came first. Two workers updating one `STATE` record this way
 * never lose each other's update.
 */
import type { StorageBackend } from './backend.js';
import { decodeBody, encodeValue } from './body.js';
import { KeyValueStoreError } from './errors.js';

/** Options of {@link KeyValueStore.updateValue}. */
export interface UpdateValueOptions {
  /** Times to start over after another writer changed the record first. Default 20. */
  retries?: number;
  /** Store the new value as it is with this content type (as `setValue`'s option). */
  contentType?: string;
}

/** Start-overs by default: enough for a few dozen writers hammering one record. */
const DEFAULT_RETRIES = 20;

/** Jittered wait before start-over `attempt` (1, 2, ...): spreads writers that collided. */
const backoffMillis = (attempt: number) => Math.random() * Math.min(200, 5 * 2 ** attempt);

export async function updateValue<T>(
  backend: StorageBackend,
  storeId: string,
  key: string,
  update: (current: T | null) => T | null | undefined | Promise<T | null | undefined>,
  options: UpdateValueOptions,
): Promise<T | null> {
  const retries = options.retries ?? DEFAULT_RETRIES;
  for (let attempt = 0; ; attempt++) {
    const record = await backend.getRecord(storeId, key);
    if (record && record.etag === undefined) {
      throw new KeyValueStoreError('invalid-argument', `The storage gave no ETag for record "${key}": updateValue needs one.`);
    }
    const current = record ? (decodeBody(record.body, record.contentType, key) as T | null) : null;
    const next = await update(current);
    if (next === undefined) return current;
    let done: boolean;
    if (next === null) {
      done = record ? await backend.deleteRecordIf(storeId, key, record.etag!) : true;
    } else {
      const encoded = encodeValue(next, options.contentType);
      if (!Buffer.isBuffer(encoded.body)) throw new KeyValueStoreError('invalid-value', 'updateValue stores values held in memory, not streams.');
      done = await backend.putRecordIf(storeId, key, encoded.body, encoded.contentType, record ? record.etag! : null);
    }
    if (done) return next;
    if (attempt >= retries) {
      throw new KeyValueStoreError('conflict', `Record "${key}" kept changing under updateValue: ${retries + 1} attempts lost to other writers.`);
    }
    await new Promise((resolve) => setTimeout(resolve, backoffMillis(attempt + 1)));
  }
}
