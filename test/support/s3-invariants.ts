/**
 * What must hold of S3 stores after any fault, as the fault suites check it: no orphan or
 * duplicate (every listed store opens by id and by name, no name twice), failures that are
 * precise storage errors, and calls that end within a bound.
 */
import { expect } from 'vitest';

import { StorageError } from '../../src/storage/errors.js';
import type { S3Backend } from '../../src/storage/s3/index.js';
import type { StoreInfo } from '../../src/storage/types.js';

/** Short timeouts and two attempts per call, so that faults end calls quickly. */
export const FAST = { requestTimeoutMillis: 500, connectTimeoutMillis: 500, maxAttempts: 2 };
/** Longest a call may take with FAST: two attempts, their backoff, and a loaded machine. */
export const BOUND_MILLIS = 8000;

/** The call's outcome, failing the test when it takes longer than the bound. */
export async function within<T>(call: Promise<T>, millis = BOUND_MILLIS): Promise<{ value?: T; error?: unknown }> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${millis} ms`)), millis);
  });
  try {
    return { value: await Promise.race([call, late]) };
  } catch (error) {
    if (error instanceof Error && error.message.startsWith('no answer within')) throw error;
    return { error };
  } finally {
    clearTimeout(timer);
  }
}

/** A failure is a storage error with a code the API answers precisely (never an anonymous one). */
export function expectPrecise(error: unknown): void {
  expect(error).toBeInstanceOf(StorageError);
  expect(['storage-unavailable', 'name-not-unique', 'store-not-found']).toContain((error as StorageError).code);
}

/** No orphan or duplicate: every listed store opens by id and by name; no name twice. */
export async function expectConsistent(backend: S3Backend): Promise<StoreInfo[]> {
  const listed: StoreInfo[] = [];
  for await (const info of backend.catalog.list()) listed.push(info);
  const names = listed.flatMap((s) => (s.name ? [s.name] : []));
  expect(new Set(names).size, `names listed: ${names.join(', ')}`).toBe(names.length);
  for (const info of listed) {
    expect((await backend.catalog.get(info.id))?.id, `store ${info.id} listed but not found`).toBe(info.id);
    if (info.name) expect((await backend.catalog.findByName(info.userId, info.name))?.id).toBe(info.id);
  }
  return listed;
}


export async function waitFor(condition: () => boolean | Promise<boolean>, millis: number): Promise<void> {
  const deadline = Date.now() + millis;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${millis} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
