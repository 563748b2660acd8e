/**
 * Read-your-writes within one client. The storage behind the API is eventually consistent: right
 * after a write, a read may still see the old state. The journal remembers this client's recent
 * writes; a read that contradicts one of them is repeated, with backoff, until it agrees or the
 * consistency window of that write has passed. Reads of things this client did not write are
 * never delayed, unless the caller asks for it with `waitMillis`.
 */

/** What this client last did to a record or store. */
export type WriteNote =
  | { exists: true; etag?: string; digest?: string; at: number }
  | { exists: false; at: number };

/** What a read saw, in the terms the journal compares. */
export type ReadOutcome =
  | { exists: false }
  | { exists: true; etag?: string; digest?: () => string | undefined };

/** Most writes remembered at once; the oldest are forgotten first. */
export const DEFAULT_JOURNAL_SIZE = 10_000;

/** Waits between repeated reads: doubling from the first, up to the cap. */
const FIRST_REREAD_DELAY_MILLIS = 50;
const MAX_REREAD_DELAY_MILLIS = 1_000;

/** A weak and a strong ETag of the same body compare equal. */
function sameEtag(a: string, b: string): boolean {
  return a.replace(/^W\//, '') === b.replace(/^W\//, '');
}

/** Bounded memory of recent writes, keyed by store and record. */
export class ConsistencyJournal {
  private readonly notes = new Map<string, WriteNote>();
  /** The ids each store is known by (its id and `username~name`), from the store objects seen. */
  private readonly storeIds = new Map<string, string[]>();

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

  /** Notes a write to a record (`key`) or to a store itself (no `key`). */
  note(storeId: string, key: string | undefined, note: WriteNote): void {
    if (!this.enabled) return;
    const id = journalKey(storeId, key);
    // Re-inserting moves the entry to the end, so the map's first entry is the oldest.
    this.notes.delete(id);
    this.notes.set(id, note);
    if (this.notes.size > this.maxEntries) {
      const oldest = this.notes.keys().next().value as string;
      this.notes.delete(oldest);
    }
  }

  /** The live note about a record or store, or undefined (expired notes are dropped). */
  get(storeId: string, key: string | undefined): WriteNote | undefined {
    const id = journalKey(storeId, key);
    const note = this.notes.get(id);
    if (!note) return undefined;
    if (this.now() - note.at >= this.windowMillis) {
      this.notes.delete(id);
      return undefined;
    }
    return note;
  }

  /** Remembers that these ids (a store's id and its `username~name`) name one store. */
  sameStore(ids: string[]): void {
    if (!this.enabled) return;
    // A renamed store, or a name now given to another store, loses its old links.
    for (const id of ids) this.unlink(id);
    for (const id of ids) this.storeIds.set(id, ids);
    if (this.storeIds.size > this.maxEntries) this.unlink(this.storeIds.keys().next().value as string);
  }

  /**
   * Forgets the notes about the records of a deleted store, under every id it is known by, so
   * that reads of them are not held up by versions that went with the store. Returns those ids.
   */
  forgetStore(storeId: string): string[] {
    const ids = this.storeIds.get(storeId) ?? [storeId];
    // A store created again under the same name gets another id: the name is linked anew then.
    this.unlink(storeId);
    for (const id of this.notes.keys()) {
      const slash = id.indexOf('/');
      if (slash > 0 && ids.includes(id.slice(0, slash))) this.notes.delete(id);
    }
    return ids;
  }

  private unlink(id: string): void {
    for (const other of this.storeIds.get(id) ?? []) this.storeIds.delete(other);
  }

  /** Number of notes held (expired ones included until they are next looked at). */
  get size(): number {
    return this.notes.size;
  }

  /** Time by which a read must agree with this note, in the clock's milliseconds. */
  deadline(note: WriteNote): number {
    return note.at + this.windowMillis;
  }
}

function journalKey(storeId: string, key: string | undefined): string {
  // Neither a store id nor a record key contains a slash, so the two kinds of entry cannot collide.
  return key === undefined ? storeId : `${storeId}/${key}`;
}

/** True when a read contradicts what this client wrote. */
export function contradicts(note: WriteNote, read: ReadOutcome): boolean {
  if (!note.exists) return read.exists;
  if (!read.exists) return true;
  if (note.etag && read.etag && sameEtag(note.etag, read.etag)) return false;
  if (note.digest) {
    const digest = read.digest?.();
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
  // Nothing to agree with and no wait asked for: the common case, one read and done.
  if (options.note === undefined && options.waitMillis <= 0) return options.read();
  return readUntilAgreed(options);
}

async function readUntilAgreed<T>(options: ConsistentReadOptions<T>): Promise<T> {
  const { read, outcome, note, waitMillis, now, sleep, signal } = options;
  const start = now();
  const waitDeadline = waitMillis > 0 ? start + waitMillis : 0;
  let delay = FIRST_REREAD_DELAY_MILLIS;
  for (;;) {
    const result = await read();
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
