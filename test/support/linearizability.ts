/**
 * A per-key linearizability checker for histories of record operations, after Wing & Gong's
 * search with Lowe's memoization (as Porcupine and Knossos do it).
 *
 * Each key is a register whose state is a value or `null` (no record). Operations:
 *   put(value)  -> the state becomes `value`
 *   delete      -> the state becomes `null`
 *   get         -> observed `value` (null for a 404); legal only when it equals the state
 * A history is linearizable when every completed operation can be given one instant between
 * its call and its return such that, taken in that order, each get saw the state left by the
 * operations before it. Writes whose outcome is unknown (a timeout, a reset connection) get
 * `ret: Infinity`: they may take effect at any instant after their call, or in effect never.
 * Encode whatever a read must agree on (body and content type) into `value`.
 *
 * Usage: record ops with `History` (or build `Operation`s yourself), then
 * `expect(checkHistory(history.ops)).toEqual({ ok: true })`.
 */

export type OperationKind = 'put' | 'get' | 'delete';

export interface Operation {
  key: string;
  kind: OperationKind;
  /** put: the value written; get: the value read (`null` for not found); delete: unused. */
  value: string | null;
  /** When the call was made and when its answer came (same clock; `Infinity`: unknown outcome). */
  call: number;
  ret: number;
}

export type CheckResult =
  | { ok: true }
  | {
      ok: false;
      key: string;
      /** Why: no order exists, or the search gave up (treat both as a failure). */
      reason: string;
      /** The operations around the point where every order failed, in call order. */
      around: Operation[];
    };

export interface CheckOptions {
  /** Search steps per key before giving up (a pathological history, not a verdict). */
  maxSteps?: number;
}

interface Entry {
  op: Operation;
  id: number;
  isCall: boolean;
  match: Entry | null; // a call's return entry
  prev: Entry | null;
  next: Entry | null;
}

/** Checks every key's sub-history; the first key that is not linearizable is reported. */
export function checkHistory(ops: readonly Operation[], options: CheckOptions = {}): CheckResult {
  const byKey = new Map<string, Operation[]>();
  for (const op of ops) {
    if (!(op.call <= op.ret)) throw new Error(`Operation returns before its call: ${JSON.stringify(op)}`);
    let list = byKey.get(op.key);
    if (!list) byKey.set(op.key, (list = []));
    list.push(op);
  }
  for (const [key, list] of byKey) {
    const result = checkKey(key, list, options.maxSteps ?? 20_000_000);
    if (!result.ok) return result;
  }
  return { ok: true };
}

/** Applies an operation to a state: whether it is legal there, and the state after it. */
function step(state: string | null, op: Operation): [boolean, string | null] {
  switch (op.kind) {
    case 'put':
      return [true, op.value];
    case 'delete':
      return [true, null];
    case 'get':
      return [op.value === state, state];
  }
}

/** Builds the event list: calls and returns by time; at equal times calls first (more overlap, never a false alarm). */
function buildEvents(ops: readonly Operation[]): Entry {
  const events: Entry[] = [];
  ops.forEach((op, id) => {
    const call: Entry = { op, id, isCall: true, match: null, prev: null, next: null };
    const ret: Entry = { op, id, isCall: false, match: null, prev: null, next: null };
    call.match = ret;
    events.push(call, ret);
  });
  const time = (e: Entry) => (e.isCall ? e.op.call : e.op.ret);
  events.sort((a, b) => time(a) - time(b) || Number(b.isCall) - Number(a.isCall));
  const head: Entry = { op: ops[0]!, id: -1, isCall: false, match: null, prev: null, next: null };
  let last = head;
  for (const e of events) {
    last.next = e;
    e.prev = last;
    last = e;
  }
  return head;
}

/** Takes a call and its return out of the list (it has been given its instant). */
function lift(call: Entry): void {
  call.prev!.next = call.next;
  if (call.next) call.next.prev = call.prev;
  const ret = call.match!;
  ret.prev!.next = ret.next;
  if (ret.next) ret.next.prev = ret.prev;
}

/** Puts them back, in reverse order of `lift`. */
function unlift(call: Entry): void {
  const ret = call.match!;
  ret.prev!.next = ret;
  if (ret.next) ret.next.prev = ret;
  call.prev!.next = call;
  if (call.next) call.next.prev = call;
}

function checkKey(key: string, ops: readonly Operation[], maxSteps: number): CheckResult {
  if (ops.length === 0) return { ok: true };
  const head = buildEvents(ops);
  const linearized = new Uint32Array(Math.ceil(ops.length / 32));
  const seen = new Set<string>();
  const stack: Array<{ entry: Entry; state: string | null }> = [];
  let state: string | null = null;
  let entry = head.next;
  let steps = 0;
  let deepest = { depth: -1, at: head.next! };

  const flip = (id: number) => {
    linearized[id >>> 5]! ^= 1 << (id & 31);
  };

  while (head.next !== null) {
    if (++steps > maxSteps) {
      return failure(key, ops, deepest.at, `gave up after ${maxSteps} search steps (${ops.length} operations)`);
    }
    if (entry!.isCall) {
      const [legal, next] = step(state, entry!.op);
      if (legal) {
        flip(entry!.id);
        const memo = `${next === null ? '\u0000' : `=${next}`}\u0001${linearized.join(',')}`;
        if (!seen.has(memo)) {
          seen.add(memo);
          stack.push({ entry: entry!, state });
          state = next;
          lift(entry!);
          if (stack.length > deepest.depth) deepest = { depth: stack.length, at: head.next ?? entry! };
          entry = head.next;
          continue;
        }
        flip(entry!.id);
      }
      entry = entry!.next;
    } else {
      // A return before every pending call found its place: undo the last choice.
      const top = stack.pop();
      if (!top) return failure(key, ops, deepest.at, 'no order of the operations explains what the reads saw');
      state = top.state;
      flip(top.entry.id);
      unlift(top.entry);
      entry = top.entry.next;
    }
  }
  return { ok: true };
}

function failure(key: string, ops: readonly Operation[], at: Entry, reason: string): CheckResult {
  const sorted = [...ops].sort((a, b) => a.call - b.call);
  const index = Math.max(0, sorted.indexOf(at.op));
  return { ok: false, key, reason, around: sorted.slice(Math.max(0, index - 6), index + 6) };
}

/**
 * Records operations as they run, on one clock. `put`/`delete` that throw are kept with an
 * unknown outcome (they may have been applied) unless `isDefinite(err)` says they were
 * refused; `get` that throws is dropped (it observed nothing).
 */
export class History {
  readonly ops: Operation[] = [];
  private readonly start = performance.now();

  constructor(private readonly isDefinite: (err: unknown) => boolean = () => false) {}

  private now(): number {
    return performance.now() - this.start;
  }

  async put(key: string, value: string, run: () => Promise<unknown>): Promise<void> {
    await this.write(key, 'put', value, run);
  }

  async delete(key: string, run: () => Promise<unknown>): Promise<void> {
    await this.write(key, 'delete', null, run);
  }

  /** `run` resolves with the value read, or `null` for not found. */
  async get(key: string, run: () => Promise<string | null>): Promise<string | null | undefined> {
    const call = this.now();
    let value: string | null;
    try {
      value = await run();
    } catch {
      return undefined;
    }
    this.ops.push({ key, kind: 'get', value, call, ret: this.now() });
    return value;
  }

  private async write(key: string, kind: 'put' | 'delete', value: string | null, run: () => Promise<unknown>) {
    const call = this.now();
    try {
      await run();
      this.ops.push({ key, kind, value, call, ret: this.now() });
    } catch (err) {
      if (!this.isDefinite(err)) this.ops.push({ key, kind, value, call, ret: Infinity });
    }
  }

  /** Counts by kind, to assert that a run did real work. */
  counts(): Record<OperationKind | 'unknown', number> {
    const counts = { put: 0, get: 0, delete: 0, unknown: 0 };
    for (const op of this.ops) {
      counts[op.kind]++;
      if (op.ret === Infinity) counts.unknown++;
    }
    return counts;
  }
}
