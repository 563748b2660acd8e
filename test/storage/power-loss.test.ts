/**
 * Power loss, not just a killed process: the record engine runs over a file system that
 * loses everything not fsynced (and, in chaos mode, keeps a random part of it, files cut
 * short). After each cut: reopen, and every acknowledged write must be there intact, and no
 * record torn or paired with another write's sidecar.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';

import { describe, expect, it } from 'vitest';

import { recoverTempFolder } from '../../src/storage/fs/record-recovery.js';
import { readAll } from './helpers.js';
import { recordsOver, seededRandom } from './support/records-over.js';
import { VolatileFs } from './support/volatile-fs.js';

const DIR = '/storage/key_value_stores/default';
const KEYS = ['a', 'b', 'c', 'INPUT', 'x'.repeat(250)];
/** Content types whose extension alone maps back to another type, so a lost sidecar shows. */
const TYPES = ['text/plain; charset=x-test', 'application/json; v=2', 'application/x-thing'];

type Value = { body: Buffer; contentType: string } | null;
interface Op {
  value: Value;
  state: 'pending' | 'acked' | 'failed';
}

/** A short, comparable description of a record's state. */
const summary = (value: Value) =>
  value ? `${value.body.subarray(0, value.body.indexOf(32, 3)).toString()} ${value.body.length}B ${md5(value.body)} ${value.contentType}` : 'absent';
const md5 = (data: Buffer) => `"${createHash('md5').update(data).digest('hex')}"`;

async function trial(seed: number, chaos: boolean): Promise<{ acked: number }> {
  const random = seededRandom(seed);
  const fs = new VolatileFs(random);
  await fs.mkdirDurable(DIR);
  const ops = new Map<string, Op[]>(KEYS.map((key) => [key, [{ value: null, state: 'acked' }]]));
  const lastAcked = new Map<string, Op>(KEYS.map((key) => [key, ops.get(key)![0]!]));
  let nextId = 0;
  let acked = 0;

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
    const op: Op = { value, state: 'pending' };
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
      lastAcked.set(key, op);
      acked++;
    } catch (error) {
      op.state = 'failed';
      expect((error as NodeJS.ErrnoException).code).toBe('EIO');
    }
  };

  // Some history first, then writers until the power goes.
  const before = recordsOver(fs, DIR);
  for (let i = 0; i < 6; i++) await runOp(before);
  fs.cutPowerAfter(1 + Math.floor(random() * 250));
  const writers = Array.from({ length: 4 }, async () => {
    for (let i = 0; i < 100 && fs.powered; i++) await runOp(before);
  });
  await Promise.all(writers);
  expect(fs.powered).toBe(false);
  await before.drain().catch(() => {});

  fs.reboot(chaos);
  // After a reboot no writer of before is alive (this process plays the restarted one).
  await recoverTempFolder(DIR, fs, () => false);
  const after = recordsOver(fs, DIR);
  const listed = (await after.list({ limit: 1000 })).entries.map((entry) => entry.key);

  for (const key of KEYS) {
    const allowed = [lastAcked.get(key)!, ...ops.get(key)!.filter((op) => op.state !== 'acked')].map((op) => summary(op.value));
    const record = await after.get(key);
    const found: Value = record ? { body: await readAll(record.openStream()), contentType: record.contentType } : null;
    const context = `seed ${seed}, chaos ${chaos}, key ${key.slice(0, 8)}`;
    expect(allowed, context).toContain(summary(found));
    expect(listed.includes(key), context).toBe(found !== null);
    if (record && found) {
      expect(record.size, context).toBe(found.body.length);
      expect(record.etag, context).toBe(md5(found.body));
      // The sidecar on disk describes exactly this body.
      const sidecarName = `${DIR}/${(await fs.readdir(DIR)).map((e) => e.name).find((n) => n.endsWith('.__metadata__.json') && n.startsWith(key.slice(0, 100)))}`;
      const sidecar = JSON.parse((await fs.readFile(sidecarName)).toString()) as Record<string, unknown>;
      expect(sidecar, context).toMatchObject({ key, contentType: found.contentType, size: found.body.length, etag: md5(found.body) });
    }
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
});
