/**
 * One bound on the memory of all loaded key indexes of a storage. Each store's index tells
 * what it holds after each use (`charge`); when the total passes the bound, the least
 * recently used indexes that are idle are dropped (`evictIfIdle`), and loaded again from
 * their folder at their next use. An index in use, loading, being sized, or holding a write of
 * ours the disk does not show yet is never dropped; one store bigger than the bound keeps its
 * index while it is the one in use.
 */

/** Default bound: 512 MiB, about 25 million keys of 20 characters (see `key-rows.ts`). */
export const DEFAULT_INDEX_BUDGET_BYTES = 512 * 1024 * 1024;

export interface IndexHolder {
  /** Drops the index if nothing uses it; true when dropped (it then calls `release`). */
  evictIfIdle(): boolean;
}

export class IndexBudget {
  /** Bytes by holder, least recently used first (a Map keeps insertion order). */
  private readonly held = new Map<IndexHolder, number>();
  private total = 0;
  private evictions = 0;

  constructor(readonly maxBytes: number = DEFAULT_INDEX_BUDGET_BYTES) {
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
      throw new Error(`The index memory budget must be an integer number of bytes >= 0, not ${maxBytes}.`);
    }
  }

  /** Bytes held by all loaded indexes, as they last told. */
  get usedBytes(): number {
    return this.total;
  }

  /** Indexes dropped so far to stay within the bound. */
  get evicted(): number {
    return this.evictions;
  }

  /** `holder` holds `bytes` now and was just used; others make room if the bound is passed. */
  charge(holder: IndexHolder, bytes: number): void {
    this.total += bytes - (this.held.get(holder) ?? 0);
    this.held.delete(holder);
    this.held.set(holder, bytes);
    if (this.total <= this.maxBytes) return;
    for (const other of [...this.held.keys()]) {
      if (this.total <= this.maxBytes) break;
      if (other !== holder && other.evictIfIdle()) this.evictions++;
    }
  }

  /** `holder` dropped its index. */
  release(holder: IndexHolder): void {
    const bytes = this.held.get(holder);
    if (bytes === undefined) return;
    this.total -= bytes;
    this.held.delete(holder);
  }
}
