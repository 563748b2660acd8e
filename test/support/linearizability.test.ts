/**
 * The checker is trusted only because it fails on broken histories: each kind of anomaly the
 * storage tests look for (stale read, lost write, new-then-old, a read of nothing written)
 * is built here by hand and must be refused, and valid concurrent histories must pass.
 */
import { describe, expect, it } from 'vitest';

import { checkHistory, History, type Operation } from './linearizability.js';

const put = (key: string, value: string, call: number, ret: number): Operation => ({ key, kind: 'put', value, call, ret });
const get = (key: string, value: string | null, call: number, ret: number): Operation => ({ key, kind: 'get', value, call, ret });
const del = (key: string, call: number, ret: number): Operation => ({ key, kind: 'delete', value: null, call, ret });

describe('checkHistory: broken histories fail', () => {
  it('a stale read after a newer write completed', () => {
    const result = checkHistory([put('k', 'a', 0, 1), put('k', 'b', 2, 3), get('k', 'a', 4, 5)]);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.key).toBe('k');
      expect(result.around.length).toBeGreaterThan(0);
    }
  });

  it('a lost write: nothing read after an acknowledged put', () => {
    expect(checkHistory([put('k', 'a', 0, 1), get('k', null, 2, 3)]).ok).toBe(false);
  });

  it('new-then-old reads during one slow write', () => {
    const ops = [put('k', 'a', 0, 1), put('k', 'b', 2, 20), get('k', 'b', 3, 4), get('k', 'a', 5, 6)];
    expect(checkHistory(ops).ok).toBe(false);
  });

  it('a read of a value nobody wrote', () => {
    expect(checkHistory([put('k', 'a', 0, 1), get('k', 'zzz', 2, 3)]).ok).toBe(false);
  });

  it('a read of the old value after a delete completed', () => {
    expect(checkHistory([put('k', 'a', 0, 1), del('k', 2, 3), get('k', 'a', 4, 5)]).ok).toBe(false);
  });

  it('a write of unknown outcome that was seen and then vanished', () => {
    const ops = [put('k', 'x', 0, Infinity), get('k', 'x', 5, 6), get('k', null, 7, 8)];
    expect(checkHistory(ops).ok).toBe(false);
  });

  it('one broken key among valid ones is named', () => {
    const ops = [put('a', '1', 0, 1), get('a', '1', 2, 3), put('b', '1', 0, 1), put('b', '2', 2, 3), get('b', '1', 4, 5)];
    const result = checkHistory(ops);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.key).toBe('b');
  });

  it('a value read before its write was called', () => {
    expect(checkHistory([get('k', 'a', 0, 1), put('k', 'a', 2, 3)]).ok).toBe(false);
  });
});

describe('checkHistory: valid histories pass', () => {
  it('sequential puts, gets and deletes', () => {
    const ops = [get('k', null, 0, 1), put('k', 'a', 2, 3), get('k', 'a', 4, 5), del('k', 6, 7), get('k', null, 8, 9)];
    expect(checkHistory(ops)).toEqual({ ok: true });
  });

  it('reads concurrent with a write may see either side, once', () => {
    const ops = [put('k', 'a', 0, 1), put('k', 'b', 2, 20), get('k', 'a', 3, 4), get('k', 'b', 5, 6), get('k', 'b', 21, 22)];
    expect(checkHistory(ops)).toEqual({ ok: true });
  });

  it('concurrent writes may take effect in either order', () => {
    const ops = [put('k', 'a', 0, 10), put('k', 'b', 1, 9), get('k', 'a', 11, 12)];
    expect(checkHistory(ops)).toEqual({ ok: true });
  });

  it('a write of unknown outcome may never take effect, or take effect late', () => {
    expect(checkHistory([put('k', 'a', 0, 1), put('k', 'x', 2, Infinity), get('k', 'a', 5, 6)])).toEqual({ ok: true });
    expect(checkHistory([put('k', 'a', 0, 1), put('k', 'x', 2, Infinity), get('k', 'a', 5, 6), get('k', 'x', 7, 8)])).toEqual({
      ok: true,
    });
  });

  it('refuses an operation that returns before its call', () => {
    expect(() => checkHistory([put('k', 'a', 5, 1)])).toThrow(/before its call/);
  });
});

/** A register that really is linearizable: each op takes effect at a random instant inside its interval. */
function simulate(seed: number, workers: number, keys: number, opsPerWorker: number): Operation[] {
  let s = seed >>> 0;
  const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const planned: Array<Operation & { at: number }> = [];
  let unique = 0;
  for (let w = 0; w < workers; w++) {
    let t = rand() * 5;
    for (let i = 0; i < opsPerWorker; i++) {
      const key = `k${Math.floor(rand() * keys)}`;
      const call = t;
      const ret = call + 0.5 + rand() * 8;
      const at = call + rand() * (ret - call);
      const r = rand();
      const kind = r < 0.45 ? 'put' : r < 0.9 ? 'get' : 'delete';
      planned.push({ key, kind, value: kind === 'put' ? `v${unique++}` : null, call, ret, at });
      t = ret + rand() * 2;
    }
  }
  const state = new Map<string, string | null>();
  for (const op of [...planned].sort((a, b) => a.at - b.at)) {
    if (op.kind === 'put') state.set(op.key, op.value);
    else if (op.kind === 'delete') state.set(op.key, null);
    else op.value = state.get(op.key) ?? null;
  }
  return planned.map(({ at: _at, ...op }) => op);
}

describe('checkHistory on generated histories', () => {
  it('passes linearizable histories of 16 workers on 4 keys, and fails each when one read is made stale', () => {
    let broken = 0;
    for (let seed = 1; seed <= 12; seed++) {
      const ops = simulate(seed, 16, 4, 150);
      expect(checkHistory(ops), `seed ${seed}`).toEqual({ ok: true });

      // Break it: a read answers the value of a put that a later write had already replaced
      // (that write was called after the put returned and returned before the read was called).
      const stale = ops.map((op) => ({ ...op }));
      let done = false;
      for (const read of stale) {
        if (done || read.kind !== 'get') continue;
        const same = stale.filter((op) => op.key === read.key && op.kind !== 'get');
        const older = same.find(
          (o) => o.kind === 'put' && o.value !== read.value && same.some((w) => w !== o && w.call > o.ret && w.ret < read.call),
        );
        if (!older) continue;
        read.value = older.value;
        done = true;
      }
      if (!done) continue;
      broken++;
      expect(checkHistory(stale).ok, `seed ${seed} broken`).toBe(false);
    }
    expect(broken).toBeGreaterThanOrEqual(8);
  });

  it('handles a long history (16 workers, 8 keys, 16,000 operations)', () => {
    const ops = simulate(99, 16, 8, 1000);
    expect(ops.length).toBe(16_000);
    expect(checkHistory(ops)).toEqual({ ok: true });
  });
});

describe('History', () => {
  it('records completed ops, keeps failed writes as unknown, drops failed reads', async () => {
    const history = new History((err) => (err as Error).message === 'refused');
    await history.put('k', 'a', async () => {});
    await history.put('k', 'b', async () => {
      throw new Error('timeout');
    });
    await history.put('k', 'c', async () => {
      throw new Error('refused');
    });
    expect(await history.get('k', async () => 'a')).toBe('a');
    expect(
      await history.get('k', async () => {
        throw new Error('reset');
      }),
    ).toBeUndefined();
    await history.delete('k', async () => {});
    expect(history.counts()).toEqual({ put: 2, get: 1, delete: 1, unknown: 1 });
    const unknown = history.ops.find((op) => op.value === 'b')!;
    expect(unknown.ret).toBe(Infinity);
    expect(history.ops.every((op) => op.call <= op.ret)).toBe(true);
    expect(checkHistory(history.ops)).toEqual({ ok: true });
  });
});
