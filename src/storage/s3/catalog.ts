/**
 * Store metadata in the bucket. Nothing instances must agree on lives only in memory, and
 * every change of a store is decided by ONE conditional write, so a failed, retried or lost
 * request (or a crash between two) never leaves an orphan, a duplicate or a blocked name:
 *
 * - A new store gets a folder of its own, named by its id (never used before, never used
 *   again), so whatever is left in a deleted store's folder can never be a new store's.
 * - Create: the metadata (`If-None-Match: *`) with its name pending, then the name's claim
 *   (`If-None-Match: *`, or `If-Match` over a stale claim): the claim is the commit point.
 *   An unnamed store is committed by its metadata write alone.
 * - Rename: the new name pending in the metadata, the claim, then the name in the metadata;
 *   the claim is again the commit point (see `store-doc.ts`).
 * - A claim holds its name only while the store it points at has that name (see
 *   `name-claims.ts`).
 * - Delete: the metadata object goes first (the commit point), then the folder's objects
 *   (see `folder-cleanup.ts`).
 *
 * Memory holds what never changes (id -> folder), the last version read of each store (the
 * base of the three-way merge of a save), and for `cacheMillis` after a read that version as
 * the answer to the next reads: how stale a store may look here after another instance
 * changed it (0 = always read).
 */
import type { StoreCatalog } from '../backend.js';
import { StorageError } from '../errors.js';
import { randomId } from '../ids.js';
import { cloneStoreInfo, DEFAULT_GENERAL_ACCESS, emptyStats } from '../store-metadata.js';
import type { StoreInfo } from '../types.js';
import { LOCAL_USER } from '../types.js';
import { isValidStoreName } from '../validation.js';
import { FolderCleanup } from './folder-cleanup.js';
import { RECORD_LAYOUT, RECORD_LAYOUT_FIELD, type S3Layout } from './layout.js';
import { NameClaims } from './name-claims.js';
import type { Bucket } from './s3-client.js';
import { DOC_CONTENT_TYPE, mergeInfo, serializeDoc, type PendingName } from './store-doc.js';
import { StoreFolderReader, type LocatedStore } from './store-folder-reader.js';
import { BoundedMap, mapLimit } from './util.js';

const SAVE_ATTEMPTS = 8;
/** A pending rename that never took effect is dropped by the next save after this long. */
const PENDING_GRACE_MILLIS = 60_000;

export class S3StoreCatalog implements StoreCatalog {
  private readonly folders = new BoundedMap<string, string>(100_000);
  /** The version of each store last handed out or saved here: the base of the merge on save. */
  private readonly bases = new BoundedMap<string, StoreInfo>(10_000);
  /** Metadata read (or written) here, with when: answers reads for `cacheMillis`. */
  private readonly recent = new BoundedMap<string, { info: StoreInfo; at: number }>(10_000);
  /** Reads of a store's metadata under way, so concurrent requests share one GET. */
  private readonly reading = new Map<string, Promise<StoreInfo | null>>();
  /** Counts metadata writes made here: a read that overlapped one is not remembered (it may be older). */
  private writes = 0;
  private readonly claims: NameClaims;
  private readonly folderReader: StoreFolderReader;
  private readonly cleanup: FolderCleanup;

  constructor(
    private readonly bucket: Bucket,
    private readonly layout: S3Layout,
    private readonly cacheMillis = 0,
  ) {
    this.claims = new NameClaims(bucket, layout);
    this.folderReader = new StoreFolderReader(bucket, layout, this.claims);
    this.cleanup = new FolderCleanup(bucket, layout);
  }

  async *list(): AsyncIterable<StoreInfo> {
    let token: string | undefined;
    do {
      const page = await this.bucket.list({ prefix: this.layout.storesPrefix, delimiter: '/', token });
      const folders = (page.CommonPrefixes ?? []).map((p) => this.layout.folderOf(p.Prefix ?? '')).filter((f): f is string => f !== null);
      const found = await mapLimit(folders, 16, (folder) => this.folderReader.read(folder));
      for (const located of found) {
        if (!located) continue;
        this.folders.set(located.info.id, located.folder);
        this.remember(located.info);
        yield this.handOut(located.info);
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async get(id: string): Promise<StoreInfo | null> {
    const recent = this.recent.get(id);
    if (recent && Date.now() - recent.at < this.cacheMillis) return this.handOut(recent.info);
    let read = this.reading.get(id);
    if (!read) {
      const writesBefore = this.writes;
      const startedAt = Date.now();
      read = this.locate(id).then((located) => {
        if (!located) {
          if (this.writes === writesBefore) this.recent.delete(id);
          return null;
        }
        // Its age counts from the read's start: what it says may be that old already.
        if (this.writes === writesBefore) this.remember(located.info, startedAt);
        return located.info;
      });
      this.reading.set(id, read);
      // A failed read (S3 down, a timeout) is not shared with later callers: they try again.
      const done = () => this.reading.delete(id);
      read.then(done, done);
    }
    const info = await read;
    return info && this.handOut(info);
  }

  private remember(info: StoreInfo, at = Date.now()): void {
    if (this.cacheMillis > 0) this.recent.set(info.id, { info: cloneStoreInfo(info), at });
  }

  /** A copy for the caller; remembered as the base its next save is merged against. */
  private handOut(info: StoreInfo): StoreInfo {
    this.bases.set(info.id, cloneStoreInfo(info));
    return cloneStoreInfo(info);
  }

  async findByName(userId: string, name: string): Promise<StoreInfo | null> {
    const claim = await this.claims.read(name);
    if (!claim) return this.adoptFolder(userId, name);
    let info = await this.get(claim.id);
    // Remembered as it was before a rename elsewhere: look again before saying no.
    if (info && info.name !== name && this.cacheMillis > 0) {
      this.recent.delete(claim.id);
      info = await this.get(claim.id);
    }
    return info && info.userId === userId && info.name === name ? info : null;
  }

  /** The same by username (`username~name` references). */
  async findByUsername(username: string, name: string): Promise<StoreInfo | null> {
    const claim = await this.claims.read(name);
    const info = claim ? await this.get(claim.id) : null;
    return info && info.username === username && info.name === name ? this.findByName(info.userId, name) : null;
  }

  async create(info: StoreInfo): Promise<void> {
    await this.createIn(info.id, info);
  }

  /**
   * Creates the store in `folder`: its id, but for a folder adopted under its name, whose
   * records stay in the first layout (`{KEY}.{EXT}`; new stores have one object per key).
   */
  private async createIn(folder: string, info: StoreInfo): Promise<void> {
    const extra = folder === info.id ? { [RECORD_LAYOUT_FIELD]: RECORD_LAYOUT } : {};
    // Only an adopted folder is found through the id index: written first, it is harmless alone.
    if (folder !== info.id) await this.bucket.put(this.layout.idIndex(info.id), folder, { contentType: 'text/plain' });
    const pending: PendingName | null = info.name === null ? null : { name: info.name, token: randomId(), creating: true, at: Date.now() };
    const key = this.layout.storeMetadata(folder);
    let etag = await this.bucket.put(key, serializeDoc(info, pending, extra), { contentType: DOC_CONTENT_TYPE, ifNoneMatch: '*' });
    if (etag === null) {
      // Already there: our own write whose answer was lost (the SDK retried it), or another's.
      const found = await this.folderReader.readDoc(folder);
      const ours = found && found.info.id === info.id && found.pending?.token === pending?.token;
      if (!ours) {
        if (folder !== info.id) throw new StorageError('name-not-unique', `Store name "${info.name}" is already taken.`);
        throw new StorageError('invalid-input', `A store with id ${info.id} already exists.`);
      }
      etag = found.etag;
    }
    this.writes++;
    this.folders.set(info.id, folder);
    if (info.name !== null) {
      try {
        await this.claimName(info.name, info.id);
      } catch (error) {
        await this.abandon(folder, info.id, info.name).catch(() => {});
        throw error;
      }
      // Committed. The pending mark is only a hint now; readers drop it too when this fails.
      await this.bucket.put(key, serializeDoc(info, null, extra), { contentType: DOC_CONTENT_TYPE, ifMatch: etag }).catch(() => null);
    }
    this.bases.set(info.id, cloneStoreInfo(info));
    this.remember(info);
  }

  /** A create that did not take its name: its metadata goes, unless the claim is ours after all. */
  private async abandon(folder: string, id: string, name: string): Promise<void> {
    const claim = await this.claims.read(name);
    if (claim?.id === id) return;
    await this.bucket.delete(this.layout.storeMetadata(folder));
    this.folders.delete(id);
  }

  async save(info: StoreInfo): Promise<void> {
    const current = await this.locate(info.id);
    if (!current) throw this.notFound(info.id);
    const base = this.bases.get(info.id) ?? current.info;
    const target = info.name;
    if (target === base.name || target === null) {
      // No new name to take (a rename to none frees the old name: its claim turns stale).
      await this.update(info.id, current.folder, (now) => ({ info: mergeInfo(base, info, now.info), pending: now.pending }));
    } else {
      await this.rename(info, base, current.folder, target);
    }
    this.bases.set(info.id, cloneStoreInfo(info));
  }

  private async rename(info: StoreInfo, base: StoreInfo, folder: string, target: string): Promise<void> {
    const mark: PendingName = { name: target, token: randomId(), creating: false, at: Date.now() };
    const unchangedName = { ...info, name: base.name };
    await this.update(info.id, folder, (now) => ({ info: mergeInfo(base, unchangedName, now.info), pending: mark }));
    try {
      await this.claimName(target, info.id);
    } catch (error) {
      await this.update(info.id, folder, (now) => ({ info: now.info, pending: now.pending?.token === mark.token ? null : now.pending })).catch(() => {});
      throw error;
    }
    await this.update(info.id, folder, (now) => {
      // Our mark, or already settled by a reader (the name took effect with the claim).
      if (now.pending?.token === mark.token || (now.pending === null && now.info.name === target)) {
        return { info: { ...now.info, name: target }, pending: null };
      }
      throw new StorageError('storage-unavailable', `Renaming store ${info.id} was interrupted by another change; try again.`, { retryAfterSecs: 1 });
    });
  }

  /**
   * Writes the store's metadata as `change` makes it from what the bucket holds now, with
   * `If-Match` (read and try again when another instance wrote in between).
   */
  private async update(
    id: string,
    folder: string,
    change: (now: { info: StoreInfo; pending: PendingName | null }) => { info: StoreInfo; pending: PendingName | null },
  ): Promise<void> {
    for (let attempt = 0; attempt < SAVE_ATTEMPTS; attempt++) {
      const now = await this.folderReader.read(folder);
      if (!now || now.info.id !== id) {
        this.recent.delete(id); // deleted through another instance
        throw this.notFound(id);
      }
      // A pending name that never took effect, long ago: its writer is gone.
      const pending = now.pending && Date.now() - now.pending.at > PENDING_GRACE_MILLIS ? null : now.pending;
      const next = change({ info: now.info, pending });
      const etag = await this.bucket.put(this.layout.storeMetadata(folder), serializeDoc(next.info, next.pending, now.doc.raw), {
        contentType: DOC_CONTENT_TYPE,
        ifMatch: now.doc.etag,
      });
      if (etag !== null) {
        this.writes++;
        this.remember(next.info);
        return;
      }
    }
    throw new StorageError('storage-unavailable', `Could not save store ${id}: it kept changing under concurrent writers.`, { retryAfterSecs: 1 });
  }

  async remove(id: string): Promise<boolean> {
    const located = await this.locate(id);
    if (!located) return false;
    const { folder } = located;
    this.writes++;
    // The commit point: from here on no instance finds the store (its claim is stale now).
    await this.bucket.delete(this.layout.storeMetadata(folder));
    this.writes++;
    this.bases.delete(id);
    this.recent.delete(id);
    this.folders.delete(id);
    // Clean-up of a store already gone: a failure here is retried by the late sweep.
    const cleaned = await this.cleanup.deleteRecords(folder, folder !== id).then(
      () => true,
      () => false,
    );
    if (folder !== id) await this.bucket.delete(this.layout.idIndex(id)).catch(() => {});
    // Another instance may still hold the store as current for up to `cacheMillis` and write
    // a record into its folder: once that bound has passed, such leftovers are removed.
    if (this.cacheMillis > 0 || !cleaned) this.cleanup.sweepLater(folder, folder !== id, this.cacheMillis);
    return true;
  }

  /** The folder of a store id (fixed for its life), or `null` when unknown. */
  async folderOf(id: string): Promise<string | null> {
    return this.folders.get(id) ?? (await this.locate(id))?.folder ?? null;
  }

  /**
   * The store with this id as it stands, or `null`. Its folder is its id (one GET), or for a
   * store made by an older version or adopted, the one the id index names.
   */
  private async locate(id: string): Promise<LocatedStore | null> {
    if (!/^[A-Za-z0-9-]{1,100}$/.test(id)) return null;
    let folder = this.folders.get(id);
    if (!folder) {
      const own = await this.folderReader.read(id);
      if (own?.info.id === id) {
        this.folders.set(id, id);
        return own;
      }
      const index = await this.bucket.getText(this.layout.idIndex(id));
      if (!index) return null;
      folder = index.text.trim();
      this.folders.set(id, folder);
    }
    const located = await this.folderReader.read(folder);
    return located && located.info.id === id ? located : null;
  }

  /** Points the name's claim at `id` (see `name-claims.ts`). */
  private claimName(name: string, id: string): Promise<void> {
    return this.claims.take(name, id, async (holderId) => (await this.locate(holderId))?.info.name ?? null);
  }

  /** Waits for the late sweeps of deleted stores (see `remove`). */
  settle(): Promise<void> {
    return this.cleanup.settle();
  }

  private notFound(id: string): StorageError {
    return new StorageError('store-not-found', `Store ${id} was not found.`);
  }

  /**
   * A folder written by the SDK or Crawlee (records, maybe no metadata of ours) becomes the
   * store of that name on first use, in place. Only a name never claimed: a folder left by a
   * deleted store of ours is never taken for a new one.
   */
  private async adoptFolder(userId: string, name: string): Promise<StoreInfo | null> {
    if (!isValidStoreName(name) || userId !== LOCAL_USER.id) return null;
    const page = await this.bucket.list({ prefix: this.layout.folderPrefix(name), maxKeys: 2 });
    if (!page.Contents?.length) return null;
    if (await this.folderReader.readDoc(name)) return null;
    const now = new Date();
    const info: StoreInfo = {
      id: randomId(),
      name,
      userId: LOCAL_USER.id,
      username: LOCAL_USER.username,
      createdAt: now,
      modifiedAt: now,
      accessedAt: now,
      generalAccess: DEFAULT_GENERAL_ACCESS,
      stats: emptyStats(),
    };
    try {
      await this.createIn(name, info);
      return this.handOut(info);
    } catch (error) {
      if (error instanceof StorageError && error.code === 'name-not-unique') {
        const claim = await this.claims.read(name);
        const winner = claim ? await this.get(claim.id) : null;
        return winner && winner.userId === userId && winner.name === name ? winner : null;
      }
      throw error;
    }
  }
}
