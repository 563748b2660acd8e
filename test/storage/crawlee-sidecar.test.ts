/**
 * Our writer and Crawlee (`@crawlee/memory-storage`) writing one key at once, each from a process
 * of its own. Crawlee writes its body in place, then its sidecar in place (no inode in it); ours
 * moves a body into place, then its sidecar. Crawlee's sidecar can land after our body: it then
 * describes a body that is no longer there, and a reader must not pair our body with it (nor
 * Crawlee's body with our sidecar).
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { LOCAL_USER } from '../../src/storage/index.js';

import { crawleeWrite } from './crawlee.js';
import { makeTempDir, openStorage, readAll, removeDir } from './helpers.js';
import { startSecondWriter, useSecondWriter, type SecondWriter } from './support/second-writer.js';

const CRAWLEE_WRITER = path.join(import.meta.dirname, 'fixtures', 'crawlee-writer.mjs');
/** Both map to the `bin` extension, so both writers write `k.bin` and `k.__metadata__.json`. */
const OURS = 'application/x-ours';
const CRAWLEES = 'application/x-crawlee';
/** What `bin` says when no sidecar is taken. */
const FALLBACK = 'application/octet-stream';

let dir: string;
const secondWriter = useSecondWriter();

beforeEach(async () => {
  dir = await makeTempDir();
});
afterEach(async () => {
  await removeDir(dir);
});

/**
 * The record as a new process sees it: a storage opened on the folder as it is now (maybe while
 * Crawlee rewrites the store's `__metadata__.json` in place), which finds the store by its name.
 */
async function readFresh(key: string): Promise<{ body: string; contentType: string }> {
  const reader = await openStorage(dir);
  try {
    const { store, created } = await reader.getOrCreateStore({ name: 'race', user: LOCAL_USER });
    if (created) throw new Error('the store was not found by its name: a second one was made');
    const record = await reader.getRecord(store.id, key);
    if (!record) throw new Error(`${key} is missing`);
    return { body: (await readAll(record.openStream())).toString(), contentType: record.contentType };
  } finally {
    await reader.close();
  }
}

/** Writes `key` through a storage of ours that is closed after. */
async function ourPut(key: string, value: string, contentType: string): Promise<void> {
  const writer = await openStorage(dir);
  try {
    const { store } = await writer.getOrCreateStore({ name: 'race', user: LOCAL_USER });
    await writer.putRecord(store.id, key, Buffer.from(value), { contentType });
  } finally {
    await writer.close();
  }
}

const storeFile = (name: string) => path.join(dir, 'key_value_stores', 'race', name);

describe('a sidecar of Crawlee’s', () => {
  it('counts for the body Crawlee wrote in place over ours', async () => {
    await ourPut('k', 'o-1', OURS);
    await crawleeWrite(dir, 'race', { k: { value: Buffer.from('c-1'), contentType: CRAWLEES } });
    expect(await readFresh('k')).toEqual({ body: 'c-1', contentType: CRAWLEES });
  });

  it('does not count for our body when it landed after that body moved into place', async () => {
    await crawleeWrite(dir, 'race', { k: { value: Buffer.from('c-1'), contentType: CRAWLEES } });
    const crawleeSidecar = await fsp.readFile(storeFile('k.__metadata__.json'));
    await ourPut('k', 'o-2', OURS);
    // Crawlee's sidecar of a write whose body went into the file ours replaced, landing late,
    // in place, as Crawlee writes it.
    await fsp.writeFile(storeFile('k.__metadata__.json'), crawleeSidecar);
    expect(await readFresh('k')).toEqual({ body: 'o-2', contentType: FALLBACK });
  });

  it('still counts in a copy of Crawlee’s folder that kept the files’ times', async () => {
    await crawleeWrite(dir, 'race', { k: { value: Buffer.from('c-1'), contentType: CRAWLEES } });
    const copy = await makeTempDir();
    try {
      await fsp.cp(dir, copy, { recursive: true, preserveTimestamps: true });
      const original = dir;
      dir = copy;
      try {
        expect(await readFresh('k')).toEqual({ body: 'c-1', contentType: CRAWLEES });
      } finally {
        dir = original;
      }
    } finally {
      await removeDir(copy);
    }
  });
});

describe('our sidecar', () => {
  it('does not count for a body of the same size written into our file within the millisecond of our write', async () => {
    await ourPut('k', 'o-1', OURS);
    const body = storeFile('k.bin');
    const sidecar = JSON.parse(await fsp.readFile(storeFile('k.__metadata__.json'), 'utf8'));
    const ino = (await fsp.stat(body)).ino;
    await fsp.writeFile(body, 'c-1');
    // The time a coarse file-system clock may give such a write: not after our sidecar's.
    const modified = Date.parse(sidecar.modifiedAt);
    await fsp.utimes(body, new Date(), (modified - 0.5) / 1000);
    const stats = await fsp.stat(body);
    expect(stats.ino).toBe(ino);
    expect(stats.mtimeMs).toBeLessThan(modified + 1);
    expect(stats.mtimeMs).not.toBe(sidecar.bodyMtimeMs);
    expect(await readFresh('k')).toEqual({ body: 'c-1', contentType: FALLBACK });
  });
});

describe('our writer and Crawlee writing one key at once', () => {
  it('never serve one’s body with the other’s content type, to a reader that opens the folder after', async () => {
    const ours = await startSecondWriter(secondWriter(), dir);
    const writers: SecondWriter[] = [ours];
    const mixed: string[] = [];
    const seen = { ours: 0, crawlee: 0, fallback: 0 };
    let rounds = 0;
    try {
      // Ours makes the store; Crawlee then finds its folder.
      expect(await ours.put('race', 'k', OURS, 'o-start')).toBe('ok');
      const crawlee = await startSecondWriter(CRAWLEE_WRITER, dir);
      writers.push(crawlee);
      const deadline = Date.now() + 25_000;
      for (; rounds < 300 && Date.now() < deadline; rounds++) {
        // Unique values of one length: the size never tells the bodies apart.
        const round = String(rounds).padStart(5, '0');
        const answers = await Promise.all([ours.put('race', 'k', OURS, `o-${round}`), crawlee.put('race', 'k', CRAWLEES, `c-${round}`)]);
        expect(answers, `round ${round}`).toEqual(['ok', 'ok']);
        const { body, contentType } = await readFresh('k');
        expect(body, `round ${round}`).toMatch(new RegExp(`^[oc]-${round}$`));
        const own = body.startsWith('o-') ? OURS : CRAWLEES;
        if (contentType === FALLBACK) seen.fallback++;
        else if (contentType === own) seen[own === OURS ? 'ours' : 'crawlee']++;
        else mixed.push(`${body} served as ${contentType}`);
      }
    } finally {
      for (const writer of writers) await writer.quit();
    }
    const tally = `${rounds} rounds: ${JSON.stringify(seen)}`;
    expect(rounds, tally).toBeGreaterThanOrEqual(50);
    expect(mixed, tally).toEqual([]);
    // Most rounds keep a writer's own content type: sidecars are not simply being ignored.
    expect(seen.ours + seen.crawlee, tally).toBeGreaterThan(rounds / 2);
  }, 60_000);
});
