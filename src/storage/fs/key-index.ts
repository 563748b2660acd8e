/**
 * An in-memory sorted index of one store's keys, a B+ tree: inserts and deletes cost
 * O(log n), a page costs a search plus the page itself, however many records the store holds.
 */
import { bulkLoad } from 'sorted-btree/extended/bulkLoad.js';

/**
 * Orders strings as their UTF-8 bytes would sort (that is, by code point). JavaScript's
 * `<` compares UTF-16 units, which differs for characters above U+FFFF; keys are ASCII by
 * the key rule, but the order stays right for any string.
 */
export function compareUtf8(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codeUnitRank(x) - codeUnitRank(y);
  }
  return a.length - b.length;
}

/** Moves surrogates (U+D800-DFFF, parts of code points >= U+10000) above U+E000-FFFF. */
function codeUnitRank(unit: number): number {
  if (unit >= 0xd800 && unit <= 0xdfff) return unit + 0x2000;
  if (unit >= 0xe000) return unit - 0x800;
  return unit;
}

export interface IndexPage<T> {
  entries: T[];
  isTruncated: boolean;
}

const NODE_SIZE = 64;

/**
 * The tree's order. Index keys are valid record keys, hence ASCII, and between an ASCII string
 * and any other string the UTF-16 order of `<` is the UTF-8 order; `<` is several times faster
 * than `compareUtf8`.
 */
export function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

type Tree<T> = ReturnType<typeof bulkLoad<string, T>>;

export class KeyIndex<T extends { key: string }> {
  private readonly tree: Tree<T>;

  /** `sorted` must be in key order without duplicate keys (built in O(n)). Keys must be ASCII. */
  constructor(sorted: readonly T[] = []) {
    this.tree = bulkLoad(
      sorted.map((entry) => entry.key),
      sorted as T[],
      NODE_SIZE,
      compareKeys,
    );
  }

  get size(): number {
    return this.tree.size;
  }

  get(key: string): T | undefined {
    return this.tree.get(key);
  }

  has(key: string): boolean {
    return this.tree.has(key);
  }

  values(): IterableIterator<T> {
    return this.tree.values();
  }

  /** `[key, entry]` pairs in order from the first key >= `start` (from the first key when undefined). */
  entriesFrom(start: string | undefined): IterableIterator<[string, T]> {
    return this.tree.entries(start);
  }

  set(entry: T): void {
    this.tree.set(entry.key, entry, true);
  }

  delete(key: string): boolean {
    return this.tree.delete(key);
  }

  /** Up to `limit` entries after `exclusiveStartKey` that start with `prefix`, in order. */
  page(options: { exclusiveStartKey?: string; prefix?: string; limit: number }): IndexPage<T> {
    const prefix = options.prefix ?? '';
    const after = options.exclusiveStartKey;
    const start = after !== undefined && compareUtf8(after, prefix) > 0 ? after : prefix;
    const entries: T[] = [];
    let isTruncated = false;
    for (const [key, entry] of this.tree.entries(start)) {
      if (key === after) continue;
      if (!key.startsWith(prefix)) break;
      if (entries.length === options.limit) {
        isTruncated = true;
        break;
      }
      entries.push(entry);
    }
    return { entries, isTruncated };
  }
}
