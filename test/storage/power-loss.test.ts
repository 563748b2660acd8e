/**
 * Power loss, not just a killed process: the record engine runs over a file system that
 * loses everything not fsynced (and, in chaos mode, keeps a random part of it, files cut
 * short). After each cut: reopen, and every acknowledged write must be there intact, and no
 * record torn or paired with another write's sidecar; a value acknowledged or seen by a reader
 * never goes back to an older one (`allowedValues`). The power may go again during or right
 * after recovery. Every cut point of single writes: power-loss-targeted.test.ts.
 */
import { Readable } from 'node:stream';

import { describe, expect, it } from 'vitest';

import { recoverTempFolder } from '../../src/storage/fs/record-recovery.js';
import { allowedValues, expectConsistentRecord, powerIsOff, readValue, summary, type Op, type Value } from './support/power-history.js';
import { recordsOver, seededRandom } from './support/records-over.js';
import { VolatileFs } from './support/volatile-fs.js';

const DIR = '/storage/key_value_stores/default';
const KEYS = ['a', 'b', 'c', 'INPUT', 'x'.repeat(250)];
/** Content types whose extension alone maps back to another type, so a lost sidecar shows. */
const TYPES = ['text/plain; charset=x-test', 'application/json; v=2', 'application/x-thing'];

interface TrialOptions {
  /** A second cut during or right after recovery (and the writes after it). */
  secondCut: boolean;
}

async function trial(seed: number, chaos: boolean, options: TrialOptions = { secondCut: false }): Promise<{ acked: number }> {
  const random = seededRandom(seed);
  const fs = new VolatileFs(random);
  await fs.mkdirDurable(DIR);
  let clock = 0;
  const tick = () => ++clock;
  const ops = new Map<string, Op[]>(KEYS.map((key) => [key, [{ value: null, state: 'acked', kind: 'write', invoked: tick(), ended: tick() }]]));
  let nextId = 0;
  let acked = 0;
  const context = (key: string) => `seed ${seed}, chaos ${chaos}, key ${key.slice(0, 8)}`;

  const runOp = async (records: ReturnType<typeof recordsOver>) => {
    const key = KEYS[Math.floor(random() * KEYS.length)]!;
    const id = nextId++;
    const isPut = random() < 0.75;
    const value: Value = isPut
      ? {
          body: Buffer.concat([Buffer.from(`op ${id} `), Buffer.alloc(Math.floor(random() * 3000), 48 + (id % 40))]),
          contentType: TYPES[Math.floor(random() * TYPES.length)]!,
        }
      : null;
    const op: Op = { value, state: 'pending', kind: 'write', invoked: tick() };
    ops.get(key)!.push(op);
    try {
      if (value) {
        const half = Math.floor(value.body.length / 2);
        const body = random() < 0.5 ? value.body : Readable.from([value.body.subarray(0, half), value.body.subarray(half)]);
        await records.put(key, body, value.contentType, undefined);
      } else {
        await records.delete(key);
      }
      op.state = 'acked';
      acked++;
    } catch (error) {
      op.state = 'failed';
      expect(powerIsOff(error), String(error)).toBe(true);
    }
    op.ended = tick();
  };

  /** Reads every key once, checking each value against the history so far; stops quietly at a cut. */
  const observe = async (records: ReturnType<typeof recordsOver>) => {
    for (const key of KEYS) {
      const invoked = tick();
      let found: Value;
      try {
        found = await readValue(records, key);
      } catch (error) {
        expect(powerIsOff(error), String(error)).toBe(true);
        return;
      }
      expect(allowedValues(ops.get(key)!), `read after recovery, ${context(key)}`).toContain(summary(found));
      ops.get(key)!.push({ value: found, state: 'acked', kind: 'read', invoked, ended: tick() });
    }
  };

  const writeUntilCut = async (records: ReturnType<typeof recordsOver>, writers: number, each: number) => {
    await Promise.all(
      Array.from({ length: writers }, async () => {
        for (let i = 0; i < each && fs.powered; i++) await runOp(records);
      }),
    );
    fs.cutPower();
    await records.drain().catch(() => {});
  };

  // Some history first, then writers until the power goes.
  const before = recordsOver(fs, DIR);
  for (let i = 0; i < 6; i++) await runOp(before);
  fs.cutPowerAfter(1 + Math.floor(random() * 250));
  await writeUntilCut(before, 4, 100);
  fs.reboot(chaos);

  if (options.secondCut) {
    // The power goes again: during recovery, or right after it while readers and writers go on.
    const duringRecovery = random() < 0.5;
    fs.cutPowerAfter(duringRecovery ? 1 + Math.floor(random() * 12) : Infinity);
    try {
      await recoverTempFolder(DIR, fs, () => false);
      const between = recordsOver(fs, DIR);
      await observe(between);
      if (!duringRecovery) fs.cutPowerAfter(Math.floor(random() * 40));
      await writeUntilCut(between, 2, 20);
    } catch (error) {
      expect(powerIsOff(error), String(error)).toBe(true);
    }
    fs.cutPower();
    fs.reboot(chaos);
  }

  // After a reboot no writer of before is alive (this process plays the restarted one).
  await recoverTempFolder(DIR, fs, () => false);
  const after = recordsOver(fs, DIR);
  for (const key of KEYS) {
    expect(allowedValues(ops.get(key)!), context(key)).toContain(summary(await readValue(after, key)));
    await expectConsistentRecord(fs, DIR, after, key, context(key));
  }
  expect((await fs.readdir(`${DIR}/.tmp`)).map((e) => e.name)).toEqual([]);
  return { acked };
}

describe('power loss', () => {
  it('keeps every acknowledged write, and no record torn or mismatched, when unsynced data is dropped', async () => {
    let acked = 0;
    for (let seed = 1; seed <= 60; seed++) acked += (await trial(seed, false)).acked;
    // The runs did real work: writes were acknowledged before the cuts.
    expect(acked).toBeGreaterThan(300);
  });

  it('also when any part of the unsynced changes reached the disk, files cut short', async () => {
    let acked = 0;
    for (let seed = 1001; seed <= 1100; seed++) acked += (await trial(seed, true)).acked;
    expect(acked).toBeGreaterThan(500);
  });

  it('also when the power goes again during or right after recovery', async () => {
    let acked = 0;
    for (let seed = 2001; seed <= 2060; seed++) acked += (await trial(seed, false, { secondCut: true })).acked;
    for (let seed = 3001; seed <= 3100; seed++) acked += (await trial(seed, true, { secondCut: true })).acked;
    expect(acked).toBeGreaterThan(800);
  });
});
