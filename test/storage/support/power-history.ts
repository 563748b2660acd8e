/**
 * The power-loss tests' oracle: what a key may hold after a cut, given its history of writes
 * and reads (with logical start and end times), and the on-disk check of a record found.
 */
import { createHash } from 'node:crypto';

import { expect } from 'vitest';

import type { StoreRecords } from '../../../src/storage/fs/store-records.js';
import { readAll } from '../helpers.js';
import type { VolatileFs } from './volatile-fs.js';

export type Value = { body: Buffer; contentType: string } | null;
/**
 * A write (put, delete, or the initial absence) or a read that saw a value, with the logical
 * times it started and ended (`ended` unset: still in flight when the power went).
 */
export interface Op {
  value: Value;
  state: 'pending' | 'acked' | 'failed';
  kind: 'write' | 'read';
  invoked: number;
  ended?: number;
}

/** A short, comparable description of a record's state. */
export const summary = (value: Value) =>
  value ? `${value.body.subarray(0, value.body.indexOf(32, 3)).toString()} ${value.body.length}B ${md5(value.body)} ${value.contentType}` : 'absent';
/** The error of a call made after the power went: EIO (a body stream reports it as its storage code). */
export const powerIsOff = (error: unknown) => ['EIO', 'storage-io-error'].includes(String((error as NodeJS.ErrnoException).code));
export const md5 = (data: Buffer) => `"${createHash('md5').update(data).digest('hex')}"`;

/**
 * The values a key may hold now, in order: a write's value is allowed unless something settled
 * (an acknowledged write, or a read that saw a value) started after that write ended and shows
 * another value. So an acknowledged write, or a value a reader saw, never goes back to an
 * older one; a write still in flight at a cut may or may not have happened.
 */
export function allowedValues(history: readonly Op[]): string[] {
  const settled = history.filter((op) => op.state === 'acked');
  return history
    .filter((write) => write.kind === 'write')
    .filter((write) => !settled.some((later) => write.ended !== undefined && later.invoked > write.ended && summary(later.value) !== summary(write.value)))
    .map((write) => summary(write.value));
}

/** Reads a key as a value (`null`: absent). */
export async function readValue(records: StoreRecords, key: string): Promise<Value> {
  const record = await records.get(key);
  return record ? { body: await readAll(record.openStream()), contentType: record.contentType } : null;
}

/** The record found is whole: its size, ETag and sidecar on disk all describe exactly its body. */
export async function expectConsistentRecord(fs: VolatileFs, dir: string, records: StoreRecords, key: string, context: string): Promise<void> {
  const record = await records.get(key);
  const listed = (await records.list({ limit: 1000 })).entries.map((entry) => entry.key);
  expect(listed.includes(key), context).toBe(record !== null);
  if (!record) return;
  const body = await readAll(record.openStream());
  expect(record.size, context).toBe(body.length);
  expect(record.etag, context).toBe(md5(body));
  const sidecarName = `${dir}/${(await fs.readdir(dir)).map((e) => e.name).find((n) => n.endsWith('.__metadata__.json') && n.startsWith(key.slice(0, 100)))}`;
  const sidecar = JSON.parse((await fs.readFile(sidecarName)).toString()) as Record<string, unknown>;
  expect(sidecar, context).toMatchObject({ key, contentType: record.contentType, size: body.length, etag: md5(body) });
}
