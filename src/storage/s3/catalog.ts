/**
 * Store metadata in the bucket. Nothing here that instances must agree on lives only in
 * memory: names are claimed with `If-None-Match: *` and metadata is saved with `If-Match`
 * (a three-way merge on conflict). Memory holds what never changes (id -> folder), the last
 * version read of each store (the base of that merge), and for `cacheMillis` after a read that
 * version as the answer to the next reads: the bound on how stale a store's metadata may look
 * here after another instance changed it (0 = always read).
 */
import { StorageError } from '../errors.js';
import { cloneStoreInfo, DEFAULT_GENERAL_ACCESS, emptyStats, parseStoreInfo, serializeStoreInfo } from '../store-metadata.js';
import type { StoreInfo, StoreStats } from '../types.js';
import { isValidStoreName } from '../validation.js';
import type { StoreCatalog } from '../backend.js';
import { LOCAL_USER } from '../types.js';
import { randomId } from '../ids.js';
import { RECORD_LAYOUT, RECORD_LAYOUT_FIELD, type S3Layout } from './layout.js';
import type { Bucket } from './s3-client.js';
import { BoundedMap, mapLimit } from './util.js';

/** How long a name claim may point to a store not yet written before it counts as abandoned. */
const CLAIM_GRACE_MILLIS = 30_000;
const SAVE_ATTEMPTS = 8;
/** A deleted store's folder is looked at again this long after the cache bound (see `remove`). */
const LATE_SWEEP_MARGIN_MILLIS = 250;

export class S3StoreCatalog implements StoreCatalog {
  private readonly folders = new BoundedMap<string, string>(100_000);
  /** The version of each store last handed out or saved here: the base of the merge on save. */
  private readonly bases = new BoundedMap<string, StoreInfo>(10_000);
  /** Metadata read (or written) here, with when: answers reads for `cacheMillis`. */
  private readonly recent = new BoundedMap<string, { info: StoreInfo; at: number }>(10_000);
  /** Reads of a store's metadata under way, so concurrent requests share one GET. */
  private readonly reading = new Map<string, Promise<StoreInfo | null>>();
  private readonly lateSweeps = new Set<Promise<void>>();
  /** Counts metadata writes made here: a read that overlapped one is not remembered (it may be older). */
  private writes = 0;

  constructor(
    private readonly bucket: Bucket,
    private readonly layout: S3Layout,
    private readonly cacheMillis = 0,
  ) {}

  async *list(): AsyncIterable<StoreInfo> {
    let token: string | undefined;
    do {
      const page = await this.bucket.list({ prefix: this.layout.storesPrefix, delimiter: '/', token });
      const folders = (page.CommonPrefixes ?? []).map((p) => this.layout.folderOf(p.Prefix ?? '')).filter((f): f is string => f !== null);
      const infos = await mapLimit(folders, 16, (folder) => this.readFolder(folder));
      for (const info of infos) {
        if (!info) continue;
        this.remember(info);
        yield this.handOut(info);
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async get(id: string): Promise<StoreInfo | null> {
    const folder = await this.folderOf(id);
    if (!folder) return null;
    const recent = this.recent.get(id);
    if (recent && Date.now() - recent.at < this.cacheMillis) return this.handOut(recent.info);
    let read = this.reading.get(id);
    if (!read) {
      const writesBefore = this.writes;
      read = this.readFolder(folder).then((info) => {
        if (this.writes !== writesBefore) return info && info.id === id ? info : null;
        if (!info || info.id !== id) {
          this.recent.delete(id);
          return null;
        }
        this.remember(info);
        return info;
      });
      this.reading.set(id, read);
      const done = () => this.reading.delete(id);
      read.then(done, done);
    }
    const info = await read;
    return info && this.handOut(info);
  }

  private remember(info: StoreInfo): void {
    if (this.cacheMillis > 0) this.recent.set(info.id, { info: cloneStoreInfo(info), at: Date.now() });
  }

  /** A copy for the caller; remembered as the base its next save is merged against. */
  private handOut(info: StoreInfo): StoreInfo {
    this.bases.set(info.id, cloneStoreInfo(info));
    return cloneStoreInfo(info);
  }

  async findByName(userId: string, name: string): Promise<StoreInfo | null> {
    const claim = await this.bucket.getText(this.layout.nameClaim(name));
    if (!claim) return this.adoptFolder(userId, name);
    const id = claim.text.trim();
    // The creator writes the claim first and the store right after: wait for it, bounded.
    const deadline = Date.now() + 5000;
    for (;;) {
      const info = await this.get(id);
      if (info) return info.userId === userId && info.name === name ? info : null;
      if (Date.now() > deadline || (await this.claimAbandoned(name, id))) return null;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** The same by username (`username~name` references). */
  async findByUsername(username: string, name: string): Promise<StoreInfo | null> {
    const claim = await this.bucket.getText(this.layout.nameClaim(name));
    const info = claim ? await this.get(claim.text.trim()) : null;
    return info && info.username === username && info.name === name ? this.findByName(info.userId, name) : null;
  }

  /** `recordLayout` false: a folder adopted with its records in the first layout (`{KEY}.{EXT}`). */
  async create(info: StoreInfo, recordLayout = true): Promise<void> {
    const layoutField = recordLayout ? { [RECORD_LAYOUT_FIELD]: RECORD_LAYOUT } : {};
    if (info.name !== null) await this.claimName(info.name, info.id);
    try {
      // The folder is the name when free (as the SDK would name it), else the id.
      let folder = info.name ?? info.id;
      let etag = await this.bucket.put(this.layout.storeMetadata(folder), serializeStoreInfo(info, layoutField), {
        contentType: 'application/json; charset=utf-8',
        ifNoneMatch: '*',
      });
      if (etag === null && folder !== info.id) {
        folder = info.id;
        etag = await this.bucket.put(this.layout.storeMetadata(folder), serializeStoreInfo(info, layoutField), {
          contentType: 'application/json; charset=utf-8',
          ifNoneMatch: '*',
        });
      }
      if (etag === null) throw new StorageError('invalid-input', `A store with id ${info.id} already exists.`);
      await this.bucket.put(this.layout.idIndex(info.id), folder, { contentType: 'text/plain' });
      this.writes++;
      this.folders.set(info.id, folder);
      this.bases.set(info.id, cloneStoreInfo(info));
      this.remember(info);
    } catch (error) {
      if (info.name !== null) await this.releaseName(info.name, info.id).catch(() => {});
      throw error;
    }
  }

  async save(info: StoreInfo): Promise<void> {
    const folder = await this.folderOf(info.id);
    if (!folder) throw new StorageError('store-not-found', `Store ${info.id} was not found.`);
    const base = this.bases.get(info.id);
    const renamed = base ? info.name !== base.name : false;
    if (renamed && info.name !== null) await this.claimName(info.name, info.id);
    for (let attempt = 0; attempt < SAVE_ATTEMPTS; attempt++) {
      const current = await this.readFolderWithEtag(folder);
      if (!current || current.info.id !== info.id) {
        this.recent.delete(info.id); // deleted through another instance
        throw new StorageError('store-not-found', `Store ${info.id} was not found.`);
      }
      const merged = base ? merge(base, info, current.info) : cloneStoreInfo(info);
      const etag = await this.bucket.put(this.layout.storeMetadata(folder), serializeStoreInfo(merged, current.raw), {
        contentType: 'application/json; charset=utf-8',
        ifMatch: current.etag,
      });
      if (etag !== null) {
        this.writes++;
        this.bases.set(info.id, cloneStoreInfo(info));
        this.remember(merged);
        if (renamed && base?.name) await this.releaseName(base.name, info.id);
        return;
      }
    }
    throw new Error(`Could not save store ${info.id}: it kept changing under concurrent writers.`);
  }

  async remove(id: string): Promise<boolean> {
    const folder = await this.folderOf(id);
    if (!folder) return false;
    const info = await this.readFolder(folder);
    if (!info || info.id !== id) return false;
    // Records first, while the name stays claimed, so no new store takes the folder meanwhile.
    this.writes++;
    const metadataKey = this.layout.storeMetadata(folder);
    await this.deleteRecordObjects(folder);
    await this.bucket.delete(metadataKey);
    await this.bucket.delete(this.layout.idIndex(id));
    if (info.name) await this.releaseName(info.name, id);
    this.writes++;
    this.bases.delete(id);
    this.recent.delete(id);
    this.folders.delete(id);
    if (this.cacheMillis > 0) this.sweepLater(folder);
    return true;
  }

  /** Deletes a folder's objects but its metadata; with `guard`, none when the folder holds a store (metadata) again. */
  private async deleteRecordObjects(folder: string, guard = false): Promise<void> {
    const prefix = this.layout.folderPrefix(folder);
    const metadataKey = this.layout.storeMetadata(folder);
    let token: string | undefined;
    do {
      const page = await this.bucket.list({ prefix, token });
      const keys = (page.Contents ?? []).map((o) => o.Key!).filter((k) => k !== metadataKey);
      // A store made in this folder since writes its metadata before any record: when there
      // is none after the listing, everything listed is left over.
      if (guard && (await this.bucket.head(metadataKey))) return;
      await mapLimit(keys, 16, (k) => this.bucket.delete(k));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  /**
   * Another instance may still hold the deleted store as current for up to `cacheMillis` and
   * write a record into its folder: once that bound has passed, such leftovers are removed,
   * unless a new store took the folder meanwhile. `close()` waits for these.
   */
  private sweepLater(folder: string): void {
    const sweep = new Promise<void>((resolve) => setTimeout(resolve, this.cacheMillis + LATE_SWEEP_MARGIN_MILLIS))
      .then(() => this.deleteRecordObjects(folder, true))
      .catch(() => {});
    this.lateSweeps.add(sweep);
    void sweep.then(() => this.lateSweeps.delete(sweep));
  }

  /** Waits for the late sweeps of deleted stores (see `sweepLater`). */
  async settle(): Promise<void> {
    while (this.lateSweeps.size > 0) await Promise.all([...this.lateSweeps]);
  }

  /** The folder of a store id (fixed for its life), or `null` when unknown. */
  async folderOf(id: string): Promise<string | null> {
    const known = this.folders.get(id);
    if (known) return known;
    if (!/^[A-Za-z0-9-]{1,100}$/.test(id)) return null;
    const index = await this.bucket.getText(this.layout.idIndex(id));
    if (!index) return null;
    const folder = index.text.trim();
    this.folders.set(id, folder);
    return folder;
  }

  /** Also the file's fields as read (`raw`): a save keeps those it does not know (the record layout). */
  private async readFolderWithEtag(folder: string): Promise<{ info: StoreInfo; etag: string; raw: Record<string, unknown> } | null> {
    const found = await this.bucket.getText(this.layout.storeMetadata(folder));
    if (!found) return null;
    let raw: unknown;
    try {
      raw = JSON.parse(found.text);
    } catch {
      return null;
    }
    const parsed = parseStoreInfo(raw, new Date());
    if (!parsed.id) return null;
    const info: StoreInfo = { ...parsed, id: parsed.id, name: parsed.name ?? null };
    return { info, etag: found.etag, raw: raw as Record<string, unknown> };
  }

  private async readFolder(folder: string): Promise<StoreInfo | null> {
    return (await this.readFolderWithEtag(folder))?.info ?? null;
  }

  private async claimName(name: string, id: string): Promise<void> {
    const key = this.layout.nameClaim(name);
    for (let attempt = 0; attempt < 3; attempt++) {
      if ((await this.bucket.put(key, id, { contentType: 'text/plain', ifNoneMatch: '*' })) !== null) return;
      const holder = await this.bucket.getText(key);
      if (holder?.text.trim() === id) return;
      if (!holder || !(await this.claimAbandoned(name, holder.text.trim()))) break;
      await this.bucket.delete(key);
    }
    throw new StorageError('name-not-unique', `Store name "${name}" is already taken.`);
  }

  /** A claim whose store never appeared within the grace time (its creator died). */
  private async claimAbandoned(name: string, id: string): Promise<boolean> {
    if (await this.folderOf(id)) return false;
    const res = await this.bucket.get(this.layout.nameClaim(name));
    if (!res) return true;
    res.Body?.transformToString().catch(() => {});
    const age = Date.now() - (res.LastModified?.getTime() ?? Date.now());
    return age > CLAIM_GRACE_MILLIS;
  }

  private async releaseName(name: string, id: string): Promise<void> {
    const key = this.layout.nameClaim(name);
    const holder = await this.bucket.getText(key);
    if (holder?.text.trim() === id) await this.bucket.delete(key);
  }

  /**
   * A folder written by the SDK or Crawlee (records, maybe no metadata of ours) becomes the
   * store of that name on first use. Creation goes through the claim, so it happens once.
   */
  private async adoptFolder(userId: string, name: string): Promise<StoreInfo | null> {
    if (!isValidStoreName(name) || userId !== LOCAL_USER.id) return null;
    const page = await this.bucket.list({ prefix: this.layout.folderPrefix(name), maxKeys: 2 });
    if (!page.Contents?.length) return null;
    const existing = await this.readFolder(name);
    if (existing) return null;
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
      await this.create(info, false);
      return this.handOut(info);
    } catch (error) {
      if (error instanceof StorageError && error.code === 'name-not-unique') return this.findByName(userId, name);
      throw error;
    }
  }
}

/**
 * Three-way merge of a save: what this instance changed since it last read the store (`ours`
 * against `base`) applied to what the bucket holds now (`theirs`). Counters add up, so two
 * instances' stats both count, approximately.
 */
function merge(base: StoreInfo, ours: StoreInfo, theirs: StoreInfo): StoreInfo {
  const merged = cloneStoreInfo(theirs);
  if (ours.name !== base.name) merged.name = ours.name;
  if (ours.generalAccess !== base.generalAccess) merged.generalAccess = ours.generalAccess;
  for (const field of ['modifiedAt', 'accessedAt'] as const) {
    if (ours[field].getTime() > merged[field].getTime()) merged[field] = new Date(ours[field]);
  }
  for (const field of Object.keys(merged.stats) as Array<keyof StoreStats>) {
    merged.stats[field] = Math.max(0, theirs.stats[field] + ours.stats[field] - base.stats[field]);
  }
  return merged;
}
