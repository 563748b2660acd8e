/**
 * A sequence that is both an async iterable (`for await`, fetched page by page) and a promise of
 * all its items (`await store.keys()`), as Crawlee's `keys()`, `values()` and `entries()` are.
 */
export class AsyncList<T> implements AsyncIterable<T>, PromiseLike<T[]> {
  constructor(private readonly source: () => AsyncIterator<T>) {}

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return this.source();
  }

  /** Collects every item into an array. */
  async toArray(): Promise<T[]> {
    const items: T[] = [];
    for await (const item of this) items.push(item);
    return items;
  }

  then<A = T[], B = never>(
    onFulfilled?: ((items: T[]) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.toArray().then(onFulfilled, onRejected);
  }
}
