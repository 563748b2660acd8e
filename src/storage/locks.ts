/**
 * Per-key ordering. `reserve(key)` takes a place in the key's line right away (so calls
 * commit in the order they were made) and returns a turn to wait for; the slow part of
 * a write (streaming the body) runs before waiting, in parallel with other writes.
 */
export class KeyedQueue {
  private readonly tails = new Map<string, Promise<void>>();

  reserve(key: string): { wait: () => Promise<void>; done: () => void } {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => mine);
    this.tails.set(key, tail);
    let released = false;
    return {
      wait: () => previous,
      done: () => {
        if (released) return;
        released = true;
        release();
        // Forget the key once nobody is queued behind us, so the map stays small.
        void tail.then(() => {
          if (this.tails.get(key) === tail) this.tails.delete(key);
        });
      },
    };
  }

  /** No key has a turn taken or waiting. */
  isIdle(): boolean {
    return this.tails.size === 0;
  }

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const turn = this.reserve(key);
    try {
      await turn.wait();
      return await fn();
    } finally {
      turn.done();
    }
  }

  /** Resolves once every reserved turn so far has finished. */
  async drain(): Promise<void> {
    while (this.tails.size > 0) await Promise.all([...this.tails.values()]);
  }
}

/**
 * Shared/exclusive lock. Record operations share it; moving or deleting a store folder
 * takes it exclusively so no record path is used while the folder changes.
 */
export class SharedLock {
  private readers = 0;
  private writer = false;
  private readonly waiting: Array<{ exclusive: boolean; grant: () => void }> = [];

  async shared<T>(fn: () => Promise<T>): Promise<T> {
    await this.acquire(false);
    try {
      return await fn();
    } finally {
      this.readers--;
      this.wake();
    }
  }

  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    await this.acquire(true);
    try {
      return await fn();
    } finally {
      this.writer = false;
      this.wake();
    }
  }

  private acquire(exclusive: boolean): Promise<void> {
    // Waiting writers block new readers, so a rename is not starved by a busy store.
    if (!this.writer && this.waiting.length === 0 && (exclusive ? this.readers === 0 : true)) {
      this.take(exclusive);
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push({ exclusive, grant: () => resolve() }));
  }

  private take(exclusive: boolean): void {
    if (exclusive) this.writer = true;
    else this.readers++;
  }

  private wake(): void {
    while (this.waiting.length > 0 && !this.writer) {
      const next = this.waiting[0]!;
      if (next.exclusive && this.readers > 0) return;
      this.waiting.shift();
      this.take(next.exclusive);
      next.grant();
      if (next.exclusive) return;
    }
  }
}

/** A plain mutex: one `run` at a time, in call order. */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}
