/**
 * Hashing a large body without holding up the rest of the process: the body is hashed a slice at
 * a time, with a turn of the event loop between slices, so timers, other requests and progress
 * callbacks wait for one slice at most instead of the whole body. Each platform brings its own
 * slice size and its own way of waiting for the next turn (see `md5HexSliced` in `types.ts`).
 */

/**
 * Calls `step(start, end)` for each whole slice of `slice` bytes of a body of `length` bytes, in
 * order, waiting for `nextTurn()` after each. Resolves with where the rest (under one slice, for
 * the caller to finish with) begins; rejects with the signal's reason once it is aborted.
 */
export async function inSlices(
  length: number,
  slice: number,
  step: (start: number, end: number) => void,
  nextTurn: () => Promise<unknown>,
  signal?: AbortSignal,
): Promise<number> {
  for (let start = 0; ; start += slice) {
    if (signal?.aborted) throw signal.reason;
    if (start + slice > length) return start;
    step(start, start + slice);
    await nextTurn();
  }
}
