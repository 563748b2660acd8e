/**
 * Read-your-writes for the resources: reads go through the journal of `http/consistency.ts`
 * under the store's id, whichever reference (id, `username~name`, `~name`) the call used.
 */
import { readConsistently, type ConsistencyJournal, type ReadOutcome, type StoreIdentity, type WriteNote } from '../http/consistency.js';
import type { CallOptions } from '../http/http-client.js';

/** One read, as the resources describe it. */
export interface JournaledRead<T> {
  /** Store reference the call used. */
  store: string;
  /** Record key; undefined for a read of the store itself. */
  key: string | undefined;
  /** The caller's wish to wait for a missing thing, in ms (0 = no wait). */
  waitMillis: number;
  signal: AbortSignal | undefined;
  read: () => Promise<T>;
  outcome: (result: T) => ReadOutcome;
  /** Frees a result that will be thrown away (an unread stream). */
  discard?: (result: T) => void;
}

/** What the journaled reads need from the client. @internal */
export interface JournalContext {
  journal: ConsistencyJournal;
  /** Reads a store object without the journal (to learn an alias); null when there is none. */
  lookUpStore: (ref: string, call: CallOptions) => Promise<StoreIdentity | null>;
  now: () => number;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** Reads through the journal, notes of writes, and the aliases of stores. @internal */
export class JournaledReads {
  constructor(private readonly ctx: JournalContext) {}

  /** Whether read-your-writes is on. */
  get enabled(): boolean {
    return this.ctx.journal.enabled;
  }

  /**
   * Runs a read, repeating it while it contradicts this client's own write (see `consistency.ts`).
   * Not an async function: the common case (a store id, no alias pending) runs with no await of its own.
   */
  read<T>(r: JournaledRead<T>): Promise<T> {
    const journal = this.ctx.journal;
    if (!journal.enabled || journal.size === 0) return this.readAgainst(r, undefined);
    if (journal.unresolved.size === 0 && !journal.needsLookUp(r.store)) {
      return this.readAgainst(r, journal.get(journal.idOf(r.store) ?? r.store, r.key));
    }
    return this.storeId(r.store, r.key, r.signal).then((id) => this.readAgainst(r, journal.get(id, r.key)));
  }

  private readAgainst<T>(r: JournaledRead<T>, note: WriteNote | undefined): Promise<T> {
    return readConsistently({
      read: r.read,
      outcome: r.outcome,
      note,
      noteDeadline: note ? this.ctx.journal.deadline(note) : 0,
      waitMillis: r.waitMillis,
      discard: r.discard,
      signal: r.signal,
      now: this.ctx.now,
      sleep: this.ctx.sleep,
    });
  }

  /**
   * The id behind a store reference, for a read of `key`. An alias not known yet is looked up
   * (once) only when a note could apply to the read; so are aliases written through earlier.
   */
  async storeId(ref: string, key: string | undefined, signal?: AbortSignal): Promise<string> {
    const journal = this.ctx.journal;
    if (!journal.mayApply(key)) return journal.idOf(ref) ?? ref;
    if (journal.needsLookUp(ref)) await this.resolve(ref, signal);
    for (const alias of [...journal.unresolved]) await this.resolve(alias, signal);
    return journal.idOf(ref) ?? ref;
  }

  /** Notes a write to a record or (no `key`) to a store. */
  noteWrite(ref: string, key: string | undefined, note: WriteNote): void {
    this.ctx.journal.note(ref, key, note);
  }

  /** Learns a store's aliases from a store object; `ref` is the reference the call used. */
  learn(store: StoreIdentity, ref?: string): void {
    this.ctx.journal.learn(store, ref !== undefined && ref.startsWith('~'));
  }

  /** Learns a store the token's owner created or got by name, and notes that it exists. */
  learnOwn(store: StoreIdentity): void {
    this.ctx.journal.learn(store, true);
    this.noteWrite(store.id, undefined, { exists: true, at: this.ctx.now() });
  }

  /**
   * Before a store is deleted: its id, looked up while the store still exists when the call
   * names it by an alias not known yet and the journal holds notes.
   */
  async beforeDelete(ref: string, signal?: AbortSignal): Promise<string> {
    const journal = this.ctx.journal;
    if (journal.enabled && journal.size > 0 && journal.needsLookUp(ref)) await this.resolve(ref, signal);
    return journal.idOf(ref) ?? ref;
  }

  /** After a store was deleted: its records' notes go, and the store is noted as deleted. */
  afterDelete(storeId: string): void {
    this.ctx.journal.forgetStore(storeId);
  }

  private async resolve(alias: string, signal?: AbortSignal): Promise<void> {
    const journal = this.ctx.journal;
    // A failed look-up only means the read is not held up: it never fails the call.
    const store = await this.ctx.lookUpStore(alias, { signal, maxRetries: 1 }).catch(() => null);
    if (store) journal.learn(store, alias.startsWith('~'));
    // Looked up once: an alias that names no store is not asked about again.
    journal.lookedUp(alias);
  }
}
