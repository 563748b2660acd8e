/**
 * Read-your-writes within one client. The storage behind the API is eventually consistent: right
 * after a write, a read may still see the old state. The journal remembers this client's recent
 * writes; a read that contradicts one of them is repeated, with backoff, until it agrees or the
 * consistency window of that write has passed. Reads of things this client did not write are
 * never delayed, unless the caller asks for it with `waitMillis`.
 */

/**
 * What this client last did to a record or store. A written body is named by its ETag and, for
 * ETags of another form, by a digest: the MD5 the integrity check already took (`md5`), else a
 * short digest of the platform's.
 */
export type WriteNote =
  | { exists: true; etag?: string; digest?: string; md5?: boolean; at: number }
  | { exists: false; at: number };

/** What a read saw, in the terms the journal compares; the body's digest (its MD5 when asked) is taken only when needed. */
export type ReadOutcome =
  | { exists: false }
  | { exists: true; etag?: string; digest?: (md5: boolean) => string | undefined };

/** Most writes (and store aliases) remembered at once; the oldest are forgotten first. */
export const DEFAULT_JOURNAL_SIZE = 10_000;

/** Waits between repeated reads: doubling from the first, up to the cap. */
const FIRST_REREAD_DELAY_MILLIS = 50;
const MAX_REREAD_DELAY_MILLIS = 1_000;

/** A weak and a strong ETag of the same body compare equal. (Equal strings first: every read after a write compares.) */
function sameEtag(a: string, b: string): boolean {
  return a === b || a.replace(/^W\//, '') === b.replace(/^W\//, '');
}

/** The fields of a store object the journal learns aliases from. */
export interface StoreIdentity {
  id: string;
  name?: string | null;
  username?: string | null;
}

/** A store reference other than an id: `username~name` or `~name`. */
export const isAlias = (ref: string): boolean => ref.includes('~');

/**
 * Bounded memory of recent writes, keyed by the store's id and the record key. A store reached
 * through an alias (`username~name`, `~name`) is noted under its id once the alias is known.
 */
export class ConsistencyJournal {
  private readonly notes = new Map<string, WriteNote>();
  /** Live notes per record key ('' for store notes): whether a note could apply to a read, in O(1). */
  private readonly perKey = new Map<string, number>();
  /** Alias -> store id, learnt from the store objects this client saw. */
  private readonly aliases = new Map<string, string>();
  /** Aliases written through before the store behind them was known; their notes sit under the alias. */
  readonly unresolved = new Set<string>();
  /** Aliases already looked up. */
  private readonly tried = new Set<string>();
  /** Username of the token's owner, once a store of its own showed it. */
  private me: string | undefined;

  constructor(
    /** How long after a write a contradicting read is repeated. 0 turns the journal off. */
    readonly windowMillis: number,
    private readonly maxEntries = DEFAULT_JOURNAL_SIZE,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether the journal is on. */
  get enabled(): boolean {
    return this.windowMillis > 0;
  }

  /** The store id behind a reference: the reference itself for an id, undefined for an unknown alias. */
  idOf(ref: string): string | undefined {
    return isAlias(ref) ? this.aliases.get(ref) : ref;
  }

  /** Whether any live note is about this record key (or, without a key, about a store). */
  mayApply(key: string | undefined): boolean {
    return (this.perKey.get(key ?? '') ?? 0) > 0;
  }

  /** Notes a write to a record (`key`) or to a store itself (no `key`), through any reference. */
  note(ref: string, key: string | undefined, note: WriteNote): void {
    if (!this.enabled) return;
    const id = this.idOf(ref);
    if (id === undefined) this.unresolved.add(ref);
    this.put(journalKey(id ?? ref, key), key, note);
  }

  /** The live note about a record or store, or undefined (expired notes are dropped). */
  get(storeId: string, key: string | undefined): WriteNote | undefined {
    const entry = journalKey(storeId, key);
    const note = this.notes.get(entry);
    if (!note) return undefined;
    if (this.now() - note.at >= this.windowMillis) {
      this.drop(entry);
      return undefined;
    }
    return note;
  }

  /**
   * Learns the aliases of a store from a store object: `username~name`, and `~name` when the
   * store is the token owner's (`own`, or its username is the owner's). A renamed store loses
   * its old name; notes kept under a newly known alias move to the id.
   */
  learn(store: StoreIdentity, own = false): void {
    if (!this.enabled || typeof store.id !== 'string') return;
    if (own && store.username) this.me = store.username;
    for (const [alias, id] of this.aliases) if (id === store.id) this.aliases.delete(alias);
    if (!store.name) return;
    const names = [store.username ? `${store.username}~${store.name}` : undefined];
    if (own || (store.username && store.username === this.me)) names.push(`~${store.name}`);
    for (const alias of names) {
      if (!alias) continue;
      this.aliases.delete(alias);
      this.aliases.set(alias, store.id);
      if (this.unresolved.delete(alias)) this.moveNotes(alias, store.id);
    }
    while (this.aliases.size > this.maxEntries) this.aliases.delete(this.aliases.keys().next().value as string);
  }

  /** Marks an alias as looked up: whether or not it named a store, it is not looked up again. */
  lookedUp(alias: string): void {
    this.unresolved.delete(alias);
    this.tried.add(alias);
    if (this.tried.size > this.maxEntries) this.tried.delete(this.tried.values().next().value as string);
  }

  /** Whether an alias should be looked up: unknown, and not looked up before. */
  needsLookUp(ref: string): boolean {
    return isAlias(ref) && !this.aliases.has(ref) && !this.tried.has(ref);
  }

  /**
   * Forgets the notes about the records of a deleted store and notes the store as deleted. Its
   * aliases stay pointed at it until a store object says otherwise, so a stale answer through
   * its name is read again too.
   */
  forgetStore(storeId: string): void {
    if (!this.enabled) return;
    const prefix = `${storeId}/`;
    for (const [entry] of this.notes) if (entry.startsWith(prefix)) this.drop(entry);
    this.put(storeId, undefined, { exists: false, at: this.now() });
  }

  /** Forgets every note and alias (the token changed: the stores behind the names may differ). */
  clear(): void {
    this.notes.clear();
    this.perKey.clear();
    this.aliases.clear();
    this.unresolved.clear();
    this.tried.clear();
    this.me = undefined;
  }

  /** Number of notes held (expired ones included until they are next looked at). */
  get size(): number {
    return this.notes.size;
  }

  /** Time by which a read must agree with this note, in the clock's milliseconds. */
  deadline(note: WriteNote): number {
    return note.at + this.windowMillis;
  }

  private put(entry: string, key: string | undefined, note: WriteNote): void {
    // Re-inserting moves the entry to the end, so the map's first entry is the oldest. A note
    // that replaces one about the same thing leaves the per-key count as it was.
    if (this.notes.delete(entry)) {
      this.notes.set(entry, note);
      return;
    }
    this.notes.set(entry, note);
    this.count(key ?? '', 1);
    if (this.notes.size > this.maxEntries) this.drop(this.notes.keys().next().value as string);
  }

  private drop(entry: string): void {
    if (!this.notes.delete(entry)) return;
    const slash = entry.indexOf('/');
    this.count(slash < 0 ? '' : entry.slice(slash + 1), -1);
  }

  private count(key: string, by: number): void {
    const n = (this.perKey.get(key) ?? 0) + by;
    if (n > 0) this.perKey.set(key, n);
    else this.perKey.delete(key);
  }

  private moveNotes(alias: string, id: string): void {
    for (const [entry, note] of [...this.notes]) {
      const slash = entry.indexOf('/');
      if ((slash < 0 ? entry : entry.slice(0, slash)) !== alias) continue;
      const key = slash < 0 ? undefined : entry.slice(slash + 1);
      this.drop(entry);
      this.put(journalKey(id, key), key, note);
    }
  }
}

function journalKey(storeId: string, key: string | undefined): string {
  // Neither a store reference nor a record key contains a slash, so the two kinds of entry cannot collide.
  return key === undefined ? storeId : `${storeId}/${key}`;
}

/** True when a read contradicts what this client wrote. */
export function contradicts(note: WriteNote, read: ReadOutcome): boolean {
  if (!note.exists) return read.exists;
  if (!read.exists) return true;
  if (note.etag && read.etag && sameEtag(note.etag, read.etag)) return false;
  if (note.digest) {
    const digest = read.digest?.(note.md5 === true);
    // A body the client did not buffer (a stream) cannot be compared: its presence is enough.
    if (digest !== undefined) return digest !== note.digest;
  }
  // Only ETags are known on both sides, and they differ.
  if (note.etag && read.etag) return true;
  return false;
}

/** Options of {@link readConsistently}. */
export interface ConsistentReadOptions<T> {
  /** Performs the read. */
  read: () => Promise<T>;
  /** Describes what a result says about the thing read. */
  outcome: (result: T) => ReadOutcome;
  /** This client's note about the thing, if any. */
  note: WriteNote | undefined;
  /** Deadline of the note (see {@link ConsistencyJournal.deadline}). */
  noteDeadline: number;
  /** Caller's wish to wait for a thing that is still missing, in ms (0 = no wait). */
  waitMillis: number;
  /** Frees a result that will be thrown away (e.g. an unread stream). */
  discard?: (result: T) => void;
  signal?: AbortSignal;
  now: () => number;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/**
 * Reads until the result agrees with this client's own write, or until the note's window (or
 * the caller's `waitMillis` for a missing thing) has passed; then returns the last result as is.
 */
export function readConsistently<T>(options: ConsistentReadOptions<T>): Promise<T> {
  const { note } = options;
  const first = options.read();
  // Nothing to agree with and no wait asked for: the common case, one read and done.
  if (options.waitMillis > 0) return readUntilAgreed(options, first);
  if (note === undefined) return first;
  // A read after this client's own write usually agrees at once: settled without the loop.
  return first.then((result) => (contradicts(note, options.outcome(result)) ? readUntilAgreed(options, first) : result));
}

/** The loop of {@link readConsistently}, from the `first` read on. */
async function readUntilAgreed<T>(options: ConsistentReadOptions<T>, first: Promise<T>): Promise<T> {
  const { read, outcome, note, waitMillis, now, sleep, signal } = options;
  const waitDeadline = waitMillis > 0 ? now() + waitMillis : 0;
  let delay = FIRST_REREAD_DELAY_MILLIS;
  for (let result = await first; ; result = await read()) {
    const seen = outcome(result);
    const stale = note !== undefined && contradicts(note, seen);
    const stillMissing = !seen.exists && waitDeadline > 0;
    if (!stale && !stillMissing) return result;
    const deadline = Math.max(stale ? options.noteDeadline : 0, stillMissing ? waitDeadline : 0);
    const left = deadline - now();
    if (left <= 0) return result;
    options.discard?.(result);
    await sleep(Math.min(delay, left), signal);
    delay = Math.min(delay * 2, MAX_REREAD_DELAY_MILLIS);
  }
}
