/**
 * A store's usage (read, write, delete and list counts, bytes) and access times, kept in memory as
 * they happen and saved to the catalog debounced: never one metadata write per read.
 */
import type { StoreCatalog } from './backend.js';
import type { Mutex } from './locks.js';
import { cloneStoreInfo, emptyStats } from './store-metadata.js';
import type { StoreInfo, StoreStats } from './types.js';

/** What happened to a store since its metadata was last saved: new times, counter increments. */
interface PendingChange {
  accessedAt?: Date;
  modifiedAt?: Date;
  stats: StoreStats;
}

export interface StoreUsageDeps {
  catalog: () => StoreCatalog;
  /** The service's lock on store changes: a save must not race a rename or delete. */
  storeChanges: Mutex;
  now: () => number;
  /** Nothing is kept or saved. */
  readOnly: boolean;
  /** Saved at most this often. */
  flushMillis: number;
}

export class StoreUsage {
  /** Usage not yet saved, by store id. Applied over the backend's metadata when read. */
  private readonly pending = new Map<string, PendingChange>();
  private flushTimer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(private readonly deps: StoreUsageDeps) {}

  /** Drops what is pending for a store (saved with other changes, or deleted). */
  forget(storeId: string): void {
    this.pending.delete(storeId);
  }

  /** The store as the caller should see it: saved metadata plus usage not yet saved. */
  apply(info: StoreInfo, change = this.pending.get(info.id)): StoreInfo {
    const out = cloneStoreInfo(info);
    if (!change) return out;
    if (change.accessedAt && change.accessedAt > out.accessedAt) out.accessedAt = new Date(change.accessedAt);
    if (change.modifiedAt && change.modifiedAt > out.modifiedAt) out.modifiedAt = new Date(change.modifiedAt);
    for (const field of Object.keys(change.stats) as Array<keyof StoreStats>) {
      out.stats[field] = Math.max(0, out.stats[field] + change.stats[field]);
    }
    return out;
  }

  /** Notes an access of a store found by reference and returns it as the caller sees it. */
  touched(info: StoreInfo): StoreInfo {
    this.change(info.id, () => {});
    return this.apply(info);
  }

  recordUse(storeId: string, counter: Exclude<keyof StoreStats, 'storageBytes'>, bytesDelta = 0, modified = false): void {
    this.change(storeId, (change) => {
      change.stats[counter]++;
      change.stats.storageBytes += bytesDelta;
      if (modified) change.modifiedAt = change.accessedAt;
    });
  }

  /**
   * Records an access in memory, where retention and readers see it; the metadata gets it
   * with the next debounced save. A read-only service keeps nothing (nothing is saved).
   */
  private change(storeId: string, apply: (change: PendingChange) => void): void {
    if (this.deps.readOnly) return;
    let change = this.pending.get(storeId);
    if (!change) this.pending.set(storeId, (change = { stats: emptyStats() }));
    change.accessedAt = new Date(this.deps.now());
    apply(change);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushTimer) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      void this.flush();
    }, this.deps.flushMillis);
    this.flushTimer.unref();
  }

  /** Saves all pending usage now; waits for a save already under way. */
  flush(): Promise<void> {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.flushing = this.flushing.then(() => this.saveAll());
    return this.flushing;
  }

  private async saveAll(): Promise<void> {
    const changes = [...this.pending];
    this.pending.clear();
    for (const [id, change] of changes) {
      try {
        await this.deps.storeChanges.run(async () => {
          const info = await this.deps.catalog().get(id);
          if (!info) return; // deleted meanwhile
          await this.deps.catalog().save(this.apply(info, change));
        });
      } catch {
        // Kept for the next save (a full disk, a store folder removed by hand).
        this.requeue(id, change);
      }
    }
  }

  private requeue(id: string, change: PendingChange): void {
    const current = this.pending.get(id);
    if (current) {
      for (const field of Object.keys(change.stats) as Array<keyof StoreStats>) current.stats[field] += change.stats[field];
      current.modifiedAt ??= change.modifiedAt;
    } else {
      this.pending.set(id, change);
    }
    this.scheduleFlush();
  }
}
