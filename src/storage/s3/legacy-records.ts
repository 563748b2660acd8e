/**
 * Records of a store in the first layout (stores made before the object-per-key layout, and
 * folders written by the Apify SDK or Crawlee): one object per record, `{folder}/{KEY}.{EXT}`,
 * its content type on the object.
 *
 * A key's extension follows its content type, so a key can briefly have two objects (the old
 * extension is deleted after the new one is written): readers take the newest and listing
 * shows the key once. Memory keeps a hint per key (extension and size), which saves a LIST
 * per read and per write; a stale hint only costs that LIST again. This layout is not
 * linearizable across instances when a key's content type changes (see `records.ts`).
 */
import type { RecordBody, RecordStore } from '../backend.js';
import { contentTypeForExtension, extensionForContentType } from '../content-types.js';
import { hasConditions } from '../conditions.js';
import { StorageError } from '../errors.js';
import type { RecordInfo, StoredRecord, WriteConditions } from '../types.js';
import { parseRecordName, type S3Layout } from './layout.js';
import { putMultipart, wholeOrParts } from './multipart-put.js';
import { objectContentType, readRecordObject } from './object-record.js';
import type { Bucket } from './s3-client.js';
import { BoundedMap } from './util.js';

interface Variant {
  name: string;
  ext: string | null;
  size: number;
  modified: number;
}

export type KeyHints = BoundedMap<string, { ext: string; size: number }>;

export class LegacyS3RecordStore implements RecordStore {
  private readonly prefix: string;

  constructor(
    private readonly bucket: Bucket,
    private readonly layout: S3Layout,
    private readonly folder: string,
    private readonly hints: KeyHints,
  ) {
    this.prefix = layout.folderPrefix(folder);
  }

  async get(key: string): Promise<StoredRecord | null> {
    const hint = this.hints.get(this.hintKey(key));
    if (hint) {
      const record = await this.read(this.layout.recordObject(this.folder, key, hint.ext), key, hint.ext);
      if (record) return record;
    }
    for (let attempt = 0; attempt < 3; attempt++) {
      const newest = newestOf(await this.variants(key));
      if (!newest) {
        this.hints.delete(this.hintKey(key));
        return null;
      }
      const record = await this.read(newest.name, key, newest.ext);
      if (record) return record;
      // Deleted between the LIST and the GET (a concurrent write changed its extension): look again.
    }
    return null;
  }

  async put(key: string, body: RecordBody, contentType: string, conditions?: WriteConditions): Promise<RecordInfo & { sizeDelta: number }> {
    refuseConditions(conditions);
    // A body of one part is one single PUT; a longer one streams as a multipart upload.
    const body$ = await wholeOrParts(body);
    if ('whole' in body$) return this.putWhole(key, body$.whole, contentType);
    const name = this.layout.recordObject(this.folder, key, extensionForContentType(contentType));
    const others = await this.variants(key);
    const { etag, size } = await putMultipart(this.bucket, name, body$.parts, objectContentType(contentType));
    return this.settle(key, name, others, { key, contentType, size, etag, modifiedAt: new Date() });
  }

  private async putWhole(key: string, bytes: Buffer, contentType: string): Promise<RecordInfo & { sizeDelta: number }> {
    const ext = extensionForContentType(contentType);
    const name = this.layout.recordObject(this.folder, key, ext);
    const hint = this.hints.get(this.hintKey(key));
    const type = objectContentType(contentType);
    let others: Variant[] = [];
    let oldSize: number;
    let etag: string | null;
    if (hint && hint.ext === ext) {
      oldSize = hint.size;
      etag = await this.bucket.put(name, bytes, type);
    } else {
      // A key not known here: its objects are listed while it is written, as a new object
      // (`If-None-Match: *`), so a key new under this name costs no extra round trip. Then every
      // listed object of that name is ours; when one was there already, it is replaced plainly.
      const listing = this.variants(key);
      listing.catch(() => {});
      const created = await this.bucket.put(name, bytes, { ...type, ifNoneMatch: '*' });
      others = await listing;
      if (created !== null) {
        others = others.filter((v) => v.name !== name);
        etag = created;
      } else {
        etag = await this.bucket.put(name, bytes, type);
      }
      oldSize = newestOf(others)?.size ?? 0;
    }
    // Only after the new body is in place: an older object of the key under another extension.
    for (const variant of others) if (variant.name !== name) await this.bucket.delete(variant.name);
    this.hints.set(this.hintKey(key), { ext: name.slice(name.lastIndexOf('.') + 1), size: bytes.byteLength });
    return {
      key,
      contentType,
      size: bytes.byteLength,
      etag: etag ?? '',
      modifiedAt: new Date(),
      sizeDelta: bytes.byteLength - oldSize,
    };
  }

  /** After a large write to `name`: the key's objects under other extensions go, and the hint follows. */
  private async settle(key: string, name: string, before: Variant[], info: RecordInfo): Promise<RecordInfo & { sizeDelta: number }> {
    for (const variant of before) if (variant.name !== name) await this.bucket.delete(variant.name);
    this.hints.set(this.hintKey(key), { ext: name.slice(name.lastIndexOf('.') + 1), size: info.size });
    return { ...info, sizeDelta: info.size - (newestOf(before)?.size ?? 0) };
  }

  async delete(key: string, conditions?: WriteConditions): Promise<number | null> {
    refuseConditions(conditions);
    const variants = await this.variants(key);
    this.hints.delete(this.hintKey(key));
    if (variants.length === 0) return null;
    for (const variant of variants) await this.bucket.delete(variant.name);
    return newestOf(variants)!.size;
  }

  /**
   * Keys in UTF-8 byte order. S3 lists object names in that order, and a name is the key plus
   * `.EXT`, so the two orders differ only where one key is a prefix of another followed by a
   * character below `.` (`a` as `a.json` lists after `a!b.json`). Reading goes on until no
   * such shorter key can still appear among the names not read yet.
   */
  async list(options: { prefix?: string; after?: string; limit: number }): Promise<{
    items: Array<{ key: string; size: number }>;
    next: string | null;
  }> {
    const { prefix = '', after, limit } = options;
    const found = new Map<string, { size: number; modified: number; ext: string | null; variants: number }>();
    let token: string | undefined;
    let lastName = '';
    let exhausted = false;
    const startAfter = after !== undefined && after >= prefix ? `${this.prefix}${after}` : undefined;
    for (;;) {
      const page = await this.bucket.list({ prefix: `${this.prefix}${prefix}`, startAfter, token });
      for (const object of page.Contents ?? []) {
        lastName = object.Key!;
        const parsed = parseRecordName(lastName.slice(this.prefix.length));
        if (!parsed || !parsed.key.startsWith(prefix) || (after !== undefined && parsed.key <= after)) continue;
        const modified = object.LastModified?.getTime() ?? 0;
        const seen = found.get(parsed.key);
        const variants = (seen?.variants ?? 0) + 1;
        if (!seen || modified >= seen.modified) found.set(parsed.key, { size: object.Size ?? 0, modified, ext: parsed.ext, variants });
        else seen.variants = variants;
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
      if (!token) {
        exhausted = true;
        break;
      }
      if (found.size > limit && !this.shorterKeyMayFollow(sortedKeys(found).slice(0, limit + 1), lastName, after)) break;
    }
    const keys = sortedKeys(found);
    const page = keys.slice(0, limit);
    const more = keys.length > limit || !exhausted;
    // What was listed saves the LIST a later read or write of these keys would make (a key
    // listing then reading each record, as a pull does, costs one GET per record).
    for (const key of page) {
      const { ext, size, variants } = found.get(key)!;
      if (ext && variants === 1) this.hints.set(this.hintKey(key), { ext, size });
    }
    return {
      items: page.map((key) => ({ key, size: found.get(key)!.size })),
      next: more && page.length > 0 ? page[page.length - 1]! : null,
    };
  }

  /** Whether a key shorter than one of `keys` (a prefix of it) could list after `lastName`. */
  private shorterKeyMayFollow(keys: string[], lastName: string, after: string | undefined): boolean {
    for (const key of keys) {
      for (let i = 1; i < key.length; i++) {
        if (key[i]! >= '.') continue;
        const shorter = key.slice(0, i);
        if (after !== undefined && shorter <= after) continue;
        if (`${this.prefix}${shorter}.\u007f` > lastName) return true;
      }
    }
    return false;
  }

  /**
   * The object a direct upload (a presigned PUT) writes: the key's current object, else one
   * with the content type's extension (`bin` without one). Its Content-Type is what the
   * uploader sends.
   */
  async uploadObjectName(key: string, contentType?: string): Promise<string> {
    // Over the key's current object if it has one: a second object under another extension
    // would leave the old one for other instances' hints to keep reading.
    const newest = newestOf(await this.variants(key));
    this.hints.delete(this.hintKey(key));
    if (newest) return newest.name;
    return this.layout.recordObject(this.folder, key, contentType ? extensionForContentType(contentType) : 'bin');
  }

  /** Every object holding `key` (normally one). */
  private async variants(key: string): Promise<Variant[]> {
    const out: Variant[] = [];
    const base = `${this.prefix}${key}`;
    // Names of this key are `key` or `key.EXT`; past `key.` + the highest character none can follow.
    const end = `${base}.\u007f`;
    let token: string | undefined;
    do {
      const page = await this.bucket.list({ prefix: base, token });
      for (const object of page.Contents ?? []) {
        const name = object.Key!;
        if (name > end) return out;
        const parsed = parseRecordName(name.slice(this.prefix.length));
        if (parsed?.key === key) {
          out.push({ name, ext: parsed.ext, size: object.Size ?? 0, modified: object.LastModified?.getTime() ?? 0 });
        }
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  private hintKey(key: string): string {
    return `${this.folder}/${key}`;
  }

  /** The record at `name`, or `null` when that object is gone. */
  private async read(name: string, key: string, ext: string | null): Promise<StoredRecord | null> {
    const record = await readRecordObject(this.bucket, name, key, contentTypeForExtension(ext));
    if (record && ext) this.hints.set(this.hintKey(key), { ext, size: record.size });
    return record;
  }
}

function newestOf(variants: Variant[]): Variant | undefined {
  let newest: Variant | undefined;
  for (const v of variants) if (!newest || v.modified >= newest.modified) newest = v;
  return newest;
}

function sortedKeys(found: Map<string, unknown>): string[] {
  // Keys are ASCII, so string order is UTF-8 byte order.
  return [...found.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * This layout keeps a key in several objects while its content type changes, so no single
 * conditional PUT can decide a condition: conditional writes are refused rather than half kept.
 */
function refuseConditions(conditions: WriteConditions | undefined): void {
  if (!hasConditions(conditions)) return;
  throw new StorageError(
    'invalid-input',
    'Conditional writes (If-Match / If-None-Match) are not supported on this store: it uses the older S3 layout (one object per key and extension). Stores created by this version use the layout that supports them.',
  );
}
