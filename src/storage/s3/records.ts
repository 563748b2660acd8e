/**
 * The records of one store, one object per key: `{folder}/records/{KEY}`, the record's content
 * type as the object's Content-Type (see `object-record.ts`). A put is one PUT, a get one GET,
 * a delete one DELETE (after a HEAD for its size), all on that one object: S3 applies each
 * atomically and reads its own latest write (strong read-after-write), so every key is a
 * linearizable register across any number of instances, whatever content types come and go.
 * Nothing is read from a LIST but the key listing itself (which may lag behind writes).
 *
 * Conditional writes and deletes (`If-Match` / `If-None-Match`) read the object's ETag with a
 * HEAD, check the conditions, then write with S3's own condition on that ETag (or on there being
 * no object): a write that lost a race to another instance fails at S3 and is checked again, so
 * exactly one of two racing creators wins. A conditional delete writes the deleted marker
 * (`deleted-marker.ts`) the same way.
 *
 * Memory holds only the last size seen per key, for the store's byte count (`sizeDelta`);
 * a stale size makes that count approximate, never a read wrong.
 */
import type { RecordBody, RecordStore } from '../backend.js';
import { checkConditions, hasConditions } from '../conditions.js';
import { StorageError } from '../errors.js';
import type { RecordInfo, StoredRecord, WriteConditions } from '../types.js';
import { isValidKey } from '../validation.js';
import { DELETED_MARKER, DELETED_MARKER_CONTENT_TYPE, isDeletedMarker, isMarkerBody } from './deleted-marker.js';
import { PART_BYTES, putMultipart, wholeOrParts } from './multipart-put.js';
import { objectContentType, readRecordObject } from './object-record.js';
import type { Bucket } from './s3-client.js';
import type { BoundedMap } from './util.js';

/** Last size seen per record object name. */
export type KnownSizes = BoundedMap<string, number>;

/** Rounds of HEAD + conditional PUT before a key that keeps changing is answered as busy. */
const CONDITIONAL_ROUNDS = 8;

/** The object of a key as a condition sees it: its ETag and size, and whether it is the deleted marker. */
interface CurrentObject {
  etag: string;
  size: number;
  deleted: boolean;
}

export class S3RecordStore implements RecordStore {
  constructor(
    private readonly bucket: Bucket,
    /** `{folder}/records/` */
    private readonly prefix: string,
    private readonly sizes: KnownSizes,
  ) {}

  async get(key: string): Promise<StoredRecord | null> {
    const name = this.prefix + key;
    const found = await readRecordObject(this.bucket, name, key, 'application/octet-stream');
    const record = found && isDeletedMarker(found) ? null : found;
    if (record) this.sizes.set(name, record.size);
    else this.sizes.delete(name);
    return record;
  }

  async put(
    key: string,
    body: RecordBody,
    contentType: string,
    conditions?: WriteConditions,
  ): Promise<RecordInfo & { sizeDelta: number }> {
    // A body of one part is one single PUT, as ever; a longer one streams as a multipart upload.
    const body$ = await wholeOrParts(body);
    if ('whole' in body$) return this.putWhole(key, body$.whole, contentType, conditions);
    if (hasConditions(conditions)) {
      await body$.stop();
      // S3 (and RGW 16.2, which ignores them on a completion) cannot make a multipart upload conditional.
      throw new StorageError(
        'invalid-input',
        `A conditional write (If-Match / If-None-Match) of a record over ${PART_BYTES} bytes is not supported on S3 storage; write it without conditions.`,
      );
    }
    const name = this.prefix + key;
    const oldSize = this.sizes.get(name) ?? liveSize(await this.bucket.head(name));
    const { etag, size } = await putMultipart(this.bucket, name, body$.parts, objectContentType(contentType));
    this.sizes.set(name, size);
    return { key, contentType, size, etag, modifiedAt: new Date(), sizeDelta: size - oldSize };
  }

  private async putWhole(
    key: string,
    bytes: Buffer,
    contentType: string,
    conditions?: WriteConditions,
  ): Promise<RecordInfo & { sizeDelta: number }> {
    if (isMarkerBody(bytes)) {
      throw new StorageError('invalid-input', 'This body is the marker the S3 storage keeps for a deleted record; it cannot be stored as a record.');
    }
    const name = this.prefix + key;
    const type = objectContentType(contentType);
    let oldSize = this.sizes.get(name);
    let etag: string | null = null;
    if (hasConditions(conditions)) {
      ({ etag, oldSize } = await this.writeIf(key, conditions, (current) =>
        this.bucket.put(name, bytes, current ? { ...type, ifMatch: current.etag } : { ...type, ifNoneMatch: '*' }),
      ));
    } else if (oldSize === undefined) {
      // Not seen here: written as a new object first, which also tells whether it was one.
      etag = await this.bucket.put(name, bytes, { ...type, ifNoneMatch: '*' });
      oldSize = etag !== null ? 0 : liveSize(await this.bucket.head(name));
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
   * the delete (the key was absent at that instant); otherwise the DELETE is. With conditions,
   * the deleted marker replaces the record by a conditional PUT instead.
   */
  async delete(key: string, conditions?: WriteConditions): Promise<number | null> {
    const name = this.prefix + key;
    if (hasConditions(conditions)) {
      const marker = objectContentType(DELETED_MARKER_CONTENT_TYPE);
      let existed = false;
      const { oldSize } = await this.writeIf(key, conditions, async (current) => {
        // Nothing there and the conditions hold (`If-None-Match`): nothing to delete.
        if (!current) return '';
        existed = true;
        return this.bucket.put(name, DELETED_MARKER, { ...marker, ifMatch: current.etag });
      });
      this.sizes.delete(name);
      return existed ? oldSize : null;
    }
    const current = await this.bucket.head(name);
    this.sizes.delete(name);
    if (!current) return null;
    await this.bucket.delete(name);
    return isDeletedMarker(current) ? null : current.size;
  }

  /**
   * Checks `conditions` against the object as it is, then runs `write`, which must write only
   * over that very object (`If-Match` its ETag; `If-None-Match: *` when there is none) and
   * return the new ETag, or `null` when S3 found the object changed meanwhile: then all over
   * again. A record's deleted marker counts as no record, and is written over by its ETag.
   */
  private async writeIf(
    key: string,
    conditions: WriteConditions,
    write: (current: CurrentObject | null) => Promise<string | null>,
  ): Promise<{ etag: string; oldSize: number }> {
    const name = this.prefix + key;
    for (let round = 0; round < CONDITIONAL_ROUNDS; round++) {
      const head = await this.bucket.head(name);
      const current = head && { ...head, deleted: isDeletedMarker(head) };
      checkConditions(conditions, key, current && !current.deleted ? current.etag : null);
      const etag = await write(current);
      if (etag !== null) return { etag, oldSize: current && !current.deleted ? current.size : 0 };
    }
    throw new StorageError('storage-unavailable', `Record "${key}" kept changing while a conditional write waited for it; try again.`, {
      retryAfterSecs: 1,
    });
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
        const size = object.Size ?? 0;
        if (isValidKey(key) && !isDeletedMarker({ size, etag: object.ETag ?? '' })) items.push({ key, size });
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

/** The size an object adds to the store: none for a missing one or the deleted marker. */
function liveSize(object: { etag: string; size: number } | null): number {
  return object && !isDeletedMarker(object) ? object.size : 0;
}
