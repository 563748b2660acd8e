/**
 * An in-memory sorted index of one store's keys. Pages cost a binary search plus the
 * page itself, however many records the store holds.
 */

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

export class KeyIndex<T extends { key: string }> {
  private readonly sorted: string[] = [];
  private readonly byKey = new Map<string, T>();

  get size(): number {
    return this.sorted.length;
  }

  get(key: string): T | undefined {
    return this.byKey.get(key);
  }

  has(key: string): boolean {
    return this.byKey.has(key);
  }

  values(): IterableIterator<T> {
    return this.byKey.values();
  }

  set(entry: T): void {
    if (!this.byKey.has(entry.key)) {
      this.sorted.splice(this.lowerBound(entry.key), 0, entry.key);
    }
    this.byKey.set(entry.key, entry);
  }

  delete(key: string): boolean {
    if (!this.byKey.delete(key)) return false;
    const at = this.lowerBound(key);
    if (this.sorted[at] === key) this.sorted.splice(at, 1);
    return true;
  }

  /** Up to `limit` entries after `exclusiveStartKey` that start with `prefix`, in order. */
  page(options: { exclusiveStartKey?: string; prefix?: string; limit: number }): IndexPage<T> {
    const prefix = options.prefix ?? '';
    let at = prefix ? this.lowerBound(prefix) : 0;
    if (options.exclusiveStartKey !== undefined) {
      at = Math.max(at, this.upperBound(options.exclusiveStartKey));
    }
    const entries: T[] = [];
    while (at < this.sorted.length && entries.length < options.limit) {
      const key = this.sorted[at]!;
      if (!key.startsWith(prefix)) break;
      entries.push(this.byKey.get(key)!);
      at++;
    }
    const isTruncated = at < this.sorted.length && this.sorted[at]!.startsWith(prefix) && entries.length === options.limit;
    return { entries, isTruncated };
  }

  /** First position whose key is >= `key`. */
  private lowerBound(key: string): number {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareUtf8(this.sorted[mid]!, key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** First position whose key is > `key`. */
  private upperBound(key: string): number {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareUtf8(this.sorted[mid]!, key) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
