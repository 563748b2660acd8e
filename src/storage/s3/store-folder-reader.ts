/**
 * Reads a store folder's metadata object and says what it means now: a pending name (see
 * `store-doc.ts`) took effect when the name's claim points at the store, and is then written
 * down for the next readers; a create whose name never took effect is no store at all.
 */
import { cloneStoreInfo } from '../store-metadata.js';
import type { StoreInfo } from '../types.js';
import type { S3Layout } from './layout.js';
import type { NameClaims } from './name-claims.js';
import type { Bucket } from './s3-client.js';
import { DOC_CONTENT_TYPE, parseDoc, serializeDoc, type PendingName, type StoreDoc } from './store-doc.js';

/** A store's metadata object with what it means now (its pending name resolved). */
export interface LocatedStore {
  folder: string;
  doc: StoreDoc;
  /** The store as it stands: a pending name that took effect applied. */
  info: StoreInfo;
  /** The pending name that has not (yet) taken effect, if any. */
  pending: PendingName | null;
}

export class StoreFolderReader {
  constructor(
    private readonly bucket: Bucket,
    private readonly layout: S3Layout,
    private readonly claims: NameClaims,
  ) {}

  /** The folder's metadata object as written, or `null` when there is none. */
  async readDoc(folder: string): Promise<StoreDoc | null> {
    const found = await this.bucket.getText(this.layout.storeMetadata(folder));
    return found ? parseDoc(found.text, found.etag) : null;
  }

  /** The folder's store as it stands, or `null` (no metadata, or a create that never took its name). */
  async read(folder: string): Promise<LocatedStore | null> {
    const doc = await this.readDoc(folder);
    if (!doc) return null;
    if (!doc.pending) return { folder, doc, info: doc.info, pending: null };
    const claim = await this.claims.read(doc.pending.name);
    const tookEffect = claim?.id === doc.info.id;
    if (!tookEffect) {
      if (doc.pending.creating) return null;
      return { folder, doc, info: doc.info, pending: doc.pending };
    }
    const info = { ...cloneStoreInfo(doc.info), name: doc.pending.name };
    // Written down for the next readers; whoever fails here, the claim already says it.
    const etag = await this.bucket
      .put(this.layout.storeMetadata(folder), serializeDoc(info, null, doc.raw), { contentType: DOC_CONTENT_TYPE, ifMatch: doc.etag })
      .catch(() => null);
    return { folder, doc: etag ? { info, pending: null, etag, raw: doc.raw } : doc, info, pending: null };
  }
}
