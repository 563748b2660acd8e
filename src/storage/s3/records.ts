/**
 * The records of one store, one object per key: `{folder}/records/{KEY}`, the record's content
 * type as the object's Content-Type (see `object-record.ts`). A put is one PUT, a get one GET,
 * a delete one DELETE (after a HEAD for its size), all on that one object: S3 applies each
 * atomically and reads its own latest write (strong read-after-write), so every key is a
 * linearizable register across any number of instances, whatever content types come and go.
 * Nothing is read from a LIST but the key listing itself (which may lag behind writes).
 *
 * Memory holds only the last size seen per key, for the store's byte count (`sizeDelta`);
 * a stale size makes that count approximate, never a read wrong.
 */
import type { RecordBody, RecordStore } from '../backend.js';
import type { RecordInfo, StoredRecord } from '../types.js';
import { isValidKey } from '../validation.js';
import { objectContentType, readAll, readRecordObject } from './object-record.js';
import type { Bucket } from './s3-client.js';
import type { BoundedMap } from './util.js';

/** Last size seen per record object name. */
export type KnownSizes = BoundedMap<string, number>;

export class S3RecordStore implements RecordStore {
  constructor(
    private readonly bucket: Bucket,
    /** `{folder}/records/` */
    private readonly prefix: string,
    private readonly sizes: KnownSizes,
  ) {}

  async get(key: string): Promise<StoredRecord | null> {
    const name = this.prefix + key;
    const record = await readRecordObject(this.bucket, name, key, 'application/octet-stream');
    if (record) this.sizes.set(name, record.size);
    else this.sizes.delete(name);
    return record;
  }

  async put(key: string, body: RecordBody, contentType: string): Promise<RecordInfo & { sizeDelta: number }> {
    const bytes = await readAll(body);
    const name = this.prefix + key;
    const type = objectContentType(contentType);
    let oldSize = this.sizes.get(name);
    let etag: string | null = null;
    if (oldSize === undefined) {
      // Not seen here: written as a new object first, which also tells whether it was one.
      etag = await this.bucket.put(name, bytes, { ...type, ifNoneMatch: '*' });
      oldSize = etag !== null ? 0 : ((await this.bucket.head(name))?.size ?? 0);
    }
    etag ??= await this.bucket.put(name, bytes, type);
    this.sizes.set(name, bytes.byteLength);
    return {
      key,
      contentType,
      size: bytes.byteLength,
      etag: etag ?? '',
      modifiedAt: new Date(),
      sizeDelta: bytes.byteLength - oldSize,
    };
  }

  /**
   * The deleted record's size, or `null` when there was none. A HEAD that finds nothing is
   * the delete (the key was absent at that instant); otherwise the DELETE is.
   */
  async delete(key: string): Promise<number | null> {
    const name = this.prefix + key;
    const current = await this.bucket.head(name);
    this.sizes.delete(name);
    if (!current) return null;
    await this.bucket.delete(name);
    return current.size;
  }

  /** Keys in UTF-8 byte order: S3's order of the object names, which are the keys themselves. */
  async list(options: { prefix?: string; after?: string; limit: number }): Promise<{
    items: Array<{ key: string; size: number }>;
    next: string | null;
  }> {
    const { prefix = '', after, limit } = options;
    const items: Array<{ key: string; size: number }> = [];
    let startAfter = after !== undefined && after >= prefix ? this.prefix + after : undefined;
    for (;;) {
      const page = await this.bucket.list({ prefix: this.prefix + prefix, startAfter, maxKeys: Math.min(1000, limit - items.length) });
      for (const object of page.Contents ?? []) {
        const key = object.Key!.slice(this.prefix.length);
        if (isValidKey(key)) items.push({ key, size: object.Size ?? 0 });
      }
      const last = page.Contents?.at(-1)?.Key;
      if (!page.IsTruncated || !last) return { items, next: null };
      if (items.length >= limit) return { items, next: items.at(-1)!.key };
      startAfter = last;
    }
  }

  /** The object a direct upload (a presigned PUT) writes: the key's one object. */
  uploadObjectName(key: string): string {
    this.sizes.delete(this.prefix + key);
    return this.prefix + key;
  }
}
