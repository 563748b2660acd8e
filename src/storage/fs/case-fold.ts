/**
 * Which key holds each plain file stem, compared case-insensitively: on a file system that
 * ignores case, a second key differing only in case must not take the same name.
 */
export class CaseFold {
  private readonly holders = new Map<string, string>();

  static of(entries: Iterable<{ key: string; stem: string }>): CaseFold {
    const fold = new CaseFold();
    for (const entry of entries) fold.add(entry.key, entry.stem);
    return fold;
  }

  /** Notes that `key`'s files use `stem` (only plain stems, equal to the key, can clash). */
  add(key: string, stem: string): void {
    if (stem === key) this.holders.set(key.toLowerCase(), key);
  }

  remove(key: string): void {
    const folded = key.toLowerCase();
    if (this.holders.get(folded) === key) this.holders.delete(folded);
  }

  /** The key holding the plain stem `key` would take, if any. */
  holder(key: string): string | undefined {
    return this.holders.get(key.toLowerCase());
  }
}
