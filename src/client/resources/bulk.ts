/**
 * Bulk record operations: one call per item, at most `concurrency` at a time, with a result per
 * item as an async iterable. Items are pulled from the input only as slots free up, and results
 * are handed out as they complete, so memory stays bounded whatever the size of the input.
 */
import type { CallOptions } from '../http/http-client.js';
import { ApifyArgumentError } from '../http/errors.js';
import type { StoreRecordInput } from '../types.js';
import { checkInteger } from '../validation.js';
import { callOptions } from './context.js';

/** How many calls a bulk operation runs at once unless told otherwise. */
export const DEFAULT_BULK_CONCURRENCY = 8;

/** Options of `putRecords`, `getRecords` and `deleteRecords`. */
export interface BulkOptions extends CallOptions {
  /** Calls in flight at once (1-1000); 8 by default. */
  concurrency?: number;
  /** Stops taking new items and aborts the calls in flight; the iteration then throws the signal's reason. */
  signal?: AbortSignal;
  /** Stop taking new items after the first failed one (calls already in flight still report). */
  stopOnError?: boolean;
}

/** One record for `putRecords`: `{ key, value, contentType? }`, as `setRecord` takes it. */
export type BulkRecordInput = StoreRecordInput;

/** The result of one item: `ok` with what the call returned, or the error it failed with. */
export type BulkResult<Extra extends object = object> = ({ key: string; ok: true } & Extra) | { key: string; ok: false; error: unknown };

/** The input of a bulk operation: any iterable, sync or async (a generator of any length is fine). */
export type BulkInput<Item> = Iterable<Item> | AsyncIterable<Item>;

function iteratorOf<Item>(input: BulkInput<Item>): Iterator<Item> | AsyncIterator<Item> {
  const asyncIterable = (input as AsyncIterable<Item>)[Symbol.asyncIterator];
  if (typeof asyncIterable === 'function') return asyncIterable.call(input);
  return (input as Iterable<Item>)[Symbol.iterator]();
}

/**
 * Runs `work` on each item with bounded concurrency; yields `{ key, ok: true, ...returned }` or
 * `{ key, ok: false, error }` in completion order. Leaving the loop early (break, throw) aborts
 * the calls in flight and closes the input. The options are checked at once, not on the first
 * step. @internal
 */
export function runBulk<Item, Extra extends object>(
  method: string,
  input: BulkInput<Item>,
  keyOf: (item: Item) => string,
  work: (item: Item, call: CallOptions) => Promise<Extra>,
  options: BulkOptions = {},
): AsyncGenerator<BulkResult<Extra>, void, undefined> {
  // The per-call options go on to each item's call (which names its own method in errors, and
  // takes no progress callbacks: the bulk methods refuse them, and an item's method would refuse
  // the name even with no callback in it).
  const { clientMethod: _, onUploadProgress: _up, onDownloadProgress: _down, ...call } = callOptions(options, method, ['concurrency', 'stopOnError']);
  const limit = checkInteger(options.concurrency, 'concurrency', 1, 1000) ?? DEFAULT_BULK_CONCURRENCY;
  const source = input as Partial<Iterable<Item> & AsyncIterable<Item>> | null;
  if (typeof source?.[Symbol.iterator] !== 'function' && typeof source?.[Symbol.asyncIterator] !== 'function') {
    throw new ApifyArgumentError('items', `${method} needs an iterable or async iterable of items`);
  }
  return pool(input, keyOf, work, limit, options.stopOnError === true, call);
}

async function* pool<Item, Extra extends object>(
  input: BulkInput<Item>,
  keyOf: (item: Item) => string,
  work: (item: Item, call: CallOptions) => Promise<Extra>,
  concurrency: number,
  stopOnError: boolean,
  { signal, ...perCall }: CallOptions,
): AsyncGenerator<BulkResult<Extra>, void, undefined> {
  // One controller for the run: the caller's signal, or leaving the loop early, aborts every call.
  const controller = new AbortController();
  const onAbort = () => controller.abort(signal!.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  if (signal?.aborted) onAbort();
  const call: CallOptions = { ...perCall, signal: controller.signal };
  const iterator = iteratorOf(input);
  const inFlight = new Map<number, Promise<[number, BulkResult<Extra>]>>();
  let next = 0;
  let exhausted = false;
  let stopped = false;
  try {
    for (;;) {
      while (!exhausted && !stopped && !controller.signal.aborted && inFlight.size < concurrency) {
        const step = await iterator.next();
        if (step.done) {
          exhausted = true;
          break;
        }
        const id = next++;
        const item = step.value;
        let key: string;
        try {
          key = keyOf(item);
        } catch {
          key = String(item);
        }
        const settled = Promise.resolve()
          .then(() => work(item, call))
          .then(
            (extra) => ({ ...extra, key, ok: true }) as BulkResult<Extra>,
            (error: unknown): BulkResult<Extra> => ({ key, ok: false, error }),
          );
        inFlight.set(
          id,
          settled.then((result) => [id, result]),
        );
      }
      if (inFlight.size === 0) break;
      const [id, result] = await Promise.race(inFlight.values());
      inFlight.delete(id);
      if (signal?.aborted) continue; // The calls aborted by the caller are not reported, only the abort.
      if (!result.ok && stopOnError) stopped = true;
      yield result;
    }
    if (signal?.aborted) throw signal.reason;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    if (inFlight.size > 0) {
      controller.abort(new Error('bulk operation ended early'));
      await Promise.all(inFlight.values());
    }
    if (!exhausted) await iterator.return?.();
  }
}
