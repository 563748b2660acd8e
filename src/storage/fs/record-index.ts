/**
 * A store's record index: the keys a scan found, packed (`KeyRows`), under an overlay of full
 * `RecordEntry` objects (a B+ tree) for the keys written, changed or read since.
 *
 * A key read or written gets an entry of its own in the overlay (its row is given up), so
 * what a read learns (content type, ETag) stays with it. Keys that had a row go back to it
 * once more than `maxDescribed` of them are in the overlay, oldest first: their description
 * is dropped and learned again from the disk at the next read. A key a writer is busy with
 * (`pinned`) always keeps its entry. Keys with no row (new since the scan) stay in the overlay
 * until it holds as many entries as half the rows (at least `compactAt`): then rows and
 * overlay are packed again into new rows, in one pass, so the index of a store filled by
 * writes stays packed (the cost of a pass is spread over the writes that made it due).
 *
 * Listing merges both in key order. A key of the rows comes out as a `RowEntry`, made for the
 * page and kept nowhere: its size is written back with `applySize`.
 */
import { applyStats } from './describe.js';
import type { FsStats } from './fs-layer.js';
import { KeyIndex, compareUtf8, type IndexPage } from './key-index.js';
import { KeyRows, KeyRowsBuilder } from './key-rows.js';
import { RecordEntry } from './record-entry.js';

/** Heap bytes an overlay entry costs: the object, its key, its numbers and its tree slot. */
export const OVERLAY_ENTRY_BYTES = 320;
/** Entries of keys that have a row kept in the overlay at most. */
export const DEFAULT_MAX_DESCRIBED = 50_000;
/** Overlay entries from which the index is packed again (when also half the rows). */
export const DEFAULT_COMPACT_AT = 65_536;

/** A key of the rows, as a page shows it. */
export class RowEntry extends RecordEntry {
  constructor(
    key: string,
    ext: string | null,
    hasSidecar: boolean,
    readonly rows: KeyRows,
    readonly row: number,
  ) {
    super(key, ext, hasSidecar);
  }
}

export interface RecordIndexOptions {
  maxDescribed?: number;
  compactAt?: number;
  /** True while `key`'s entry must stay as it is (a write of it under way or half done). */
  pinned?(key: string): boolean;
}

export class RecordIndex {
  private overlay = new KeyIndex<RecordEntry>();
  /** Overlay entries of keys that have a row, least recently used first. */
  private described = new Map<string, RecordEntry>();
  private readonly maxDescribed: number;
  private readonly compactAt: number;

  constructor(
    private rows: KeyRows = KeyRows.empty(),
    private readonly options: RecordIndexOptions = {},
  ) {
    this.maxDescribed = options.maxDescribed ?? DEFAULT_MAX_DESCRIBED;
    this.compactAt = options.compactAt ?? DEFAULT_COMPACT_AT;
  }

  get size(): number {
    return this.rows.live + this.overlay.size;
  }

  /** What the index holds, estimated: the packed rows plus the overlay's entries. */
  get estimatedBytes(): number {
    return this.rows.bytes + this.overlay.size * OVERLAY_ENTRY_BYTES;
  }

  /** The key's entry, kept from now on in the overlay (what a read learns stays). */
  get(key: string): RecordEntry | undefined {
    const entry = this.overlay.get(key);
    if (entry) {
      this.touch(key, entry);
      return entry;
    }
    const row = this.rows.find(key);
    if (row < 0 || this.rows.isGone(row)) return undefined;
    const made = new RecordEntry(key, this.rows.extension(row), this.rows.hasSidecar(row));
    made.size = this.rows.sizes[row]!;
    this.rows.giveUp(row);
    this.overlay.set(made);
    this.touch(key, made);
    return made;
  }

  /** The key's entry as it is, without moving it to the overlay (a `RowEntry` for a row). */
  peek(key: string): RecordEntry | undefined {
    const entry = this.overlay.get(key);
    if (entry) return entry;
    const row = this.rows.find(key);
    return row < 0 || this.rows.isGone(row) ? undefined : this.rowEntry(row, key);
  }

  has(key: string): boolean {
    if (this.overlay.has(key)) return true;
    const row = this.rows.find(key);
    return row >= 0 && !this.rows.isGone(row);
  }

  set(entry: RecordEntry): void {
    this.overlay.set(entry);
    const row = this.rows.find(entry.key);
    if (row < 0) {
      if (this.overlay.size >= Math.max(this.compactAt, this.rows.live / 2)) this.compact();
      return;
    }
    this.rows.giveUp(row);
    this.touch(entry.key, entry);
  }

  /**
   * Packs rows and overlay into new rows, in one ordered pass. What was learned of the
   * entries moved (content type, ETag) is dropped, learned again at the next read; pinned
   * entries, long keys and extensions without a code stay in the overlay. Entries handed out
   * before (`RowEntry`s of the old rows, overlay entries moved) are no longer current.
   */
  compact(): void {
    const { rows } = this;
    const kept = new KeyIndex<RecordEntry>();
    let keyBytes = rows.keyBytesLength;
    for (const entry of this.overlay.values()) keyBytes += entry.key.length;
    const builder = new KeyRowsBuilder(rows.extensionTable, rows.live + this.overlay.size, keyBytes);
    const overlay = this.overlay.entriesFrom(undefined);
    let next = overlay.next();
    let row = 0;
    for (;;) {
      while (row < rows.count && rows.isGone(row)) row++;
      const entry = next.done ? undefined : next.value[1];
      if (row >= rows.count && entry === undefined) break;
      if (entry === undefined || (row < rows.count && rows.key(row) < entry.key)) {
        const [bytes, start, length] = rows.keyRange(row);
        builder.add(bytes, start, length, rows.code(row), rows.hasSidecar(row), rows.sizes[row]!);
        row++;
        continue;
      }
      const code = entry.longStem === undefined && !this.options.pinned?.(entry.key) ? rows.codeOf(entry.ext) : -1;
      if (code < 0) kept.set(entry);
      else builder.add(Buffer.from(entry.key, 'latin1'), 0, entry.key.length, code, entry.hasSidecar, entry.size);
      next = overlay.next();
    }
    this.rows = builder.finish();
    this.overlay = kept;
    this.described = new Map();
  }

  delete(key: string): boolean {
    const inOverlay = this.overlay.delete(key);
    this.described.delete(key);
    const row = this.rows.find(key);
    if (row < 0 || this.rows.isGone(row)) return inOverlay;
    this.rows.giveUp(row);
    return true;
  }

  /** Whether `entry` still is what the index holds for its key. */
  isCurrent(entry: RecordEntry): boolean {
    if (entry instanceof RowEntry) return entry.rows === this.rows && !this.rows.isGone(entry.row);
    return this.overlay.get(entry.key) === entry;
  }

  /** Takes a stat of `entry`'s file: its size (and inode) are known from now on. */
  applySize(entry: RecordEntry, stats: FsStats): void {
    applyStats(entry, stats);
    if (!(entry instanceof RowEntry)) return;
    if (this.isCurrent(entry)) {
      this.rows.sizes[entry.row] = stats.size;
      return;
    }
    // Its key moved to the overlay while the stat ran: the entry made from the row (same file,
    // size not known yet) takes it, or the byte count summed next would miss this record.
    const moved = this.overlay.get(entry.key);
    if (moved && moved.size === -1 && moved.fileName === entry.fileName) applyStats(moved, stats);
  }

  /** The bytes of every record whose size is known. */
  knownBytes(): number {
    let total = 0;
    const { rows } = this;
    for (let row = 0; row < rows.count; row++) if (!rows.isGone(row)) total += Math.max(0, rows.sizes[row]!);
    for (const entry of this.overlay.values()) total += Math.max(0, entry.size);
    return total;
  }

  /** Every entry in key order (rows as `RowEntry`s). Do not change the index meanwhile. */
  *values(): IterableIterator<RecordEntry> {
    yield* this.from(undefined);
  }

  /** Up to `limit` entries after `exclusiveStartKey` that start with `prefix`, in order. */
  page(options: { exclusiveStartKey?: string; prefix?: string; limit: number }): IndexPage<RecordEntry> {
    const prefix = options.prefix ?? '';
    const after = options.exclusiveStartKey;
    const start = after !== undefined && compareUtf8(after, prefix) > 0 ? after : prefix;
    const entries: RecordEntry[] = [];
    let isTruncated = false;
    for (const entry of this.from(start)) {
      if (entry.key === after) continue;
      if (!entry.key.startsWith(prefix)) break;
      if (entries.length === options.limit) {
        isTruncated = true;
        break;
      }
      entries.push(entry);
    }
    return { entries, isTruncated };
  }

  /** Rows and overlay merged, from the first key >= `start`. */
  private *from(start: string | undefined): IterableIterator<RecordEntry> {
    const { rows } = this;
    let row = start === undefined ? 0 : rows.lowerBound(start);
    const overlay = this.overlay.entriesFrom(start);
    let next = overlay.next();
    for (;;) {
      while (row < rows.count && rows.isGone(row)) row++;
      const rowKey = row < rows.count ? rows.key(row) : undefined;
      const entry = next.done ? undefined : next.value[1];
      if (rowKey === undefined && entry === undefined) return;
      // A key is in one of the two, never both (a row is given up when its key enters the overlay).
      if (entry === undefined || (rowKey !== undefined && rowKey < entry.key)) {
        yield this.rowEntry(row, rowKey!);
        row++;
      } else {
        yield entry;
        next = overlay.next();
      }
    }
  }

  private rowEntry(row: number, key: string): RowEntry {
    const entry = new RowEntry(key, this.rows.extension(row), this.rows.hasSidecar(row), this.rows, row);
    entry.size = this.rows.sizes[row]!;
    return entry;
  }

  /** Marks a key with a row as recently used; hands the oldest ones back to their rows. */
  private touch(key: string, entry: RecordEntry): void {
    this.described.delete(key);
    this.described.set(key, entry);
    if (this.described.size <= this.maxDescribed) return;
    for (const [oldKey, oldEntry] of this.described) {
      if (this.described.size <= this.maxDescribed) break;
      if (oldKey === key || this.options.pinned?.(oldKey)) continue;
      this.described.delete(oldKey);
      this.handBack(oldKey, oldEntry);
    }
  }

  /** Moves a key back from the overlay to its row, forgetting what was learned of it. */
  private handBack(key: string, entry: RecordEntry): void {
    if (this.overlay.get(key) !== entry || entry.longStem !== undefined) return;
    const row = this.rows.find(key);
    if (row < 0 || !this.rows.restore(row, entry.ext, entry.hasSidecar, entry.size)) return;
    this.overlay.delete(key);
  }
}
