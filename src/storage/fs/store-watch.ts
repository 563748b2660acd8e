/**
 * Keeps a loaded store's index in step with record files that other processes (Crawlee,
 * the Apify SDK, a second server) create, change or remove.
 */
import { readJsonFile } from './fs-utils.js';
import { childPath, isLongKeyStem, parseFileName, sidecarFileName } from './layout.js';
import { parseRecordMetadata } from './record-metadata.js';
import type { OtherWriters } from './other-writers.js';
import { watchFolder } from './watch.js';
import { isValidKey } from '../validation.js';

export function watchStoreFolder(dir: string, records: OtherWriters, rescanIntervalMillis: number): () => void {
  return watchFolder(
    dir,
    {
      onNames: async (names) => {
        for (const name of names) {
          // Hidden names are our temp folder and Crawlee's lock folders: never records.
          if (name.startsWith('.')) continue;
          const parsed = parseFileName(name);
          if (parsed.kind === 'store-metadata') continue;
          const ext = parsed.kind === 'data' ? parsed.ext : null;
          if (parsed.kind === 'data' && ext !== null && isValidKey(name) && (await hasOwnSidecar(dir, name))) {
            // Crawlee's file named after its key alone (`page.html`): the record is `page.html`.
            await records.refreshKey(name, name, null);
          } else if (isValidKey(parsed.stem)) {
            await records.refreshKey(parsed.stem, parsed.stem, ext);
          } else if (isLongKeyStem(parsed.stem)) {
            const key = await keyOfHashedStem(dir, parsed.stem);
            // A hashed stem whose sidecar is gone: only a rescan can tell which key it was.
            if (key === undefined) await records.rescan();
            else await records.refreshKey(key, parsed.stem, ext);
          }
        }
      },
      onRescan: () => records.rescan(),
    },
    rescanIntervalMillis,
  );
}

async function keyOfHashedStem(dir: string, stem: string): Promise<string | undefined> {
  try {
    const meta = parseRecordMetadata(await readJsonFile(childPath(dir, sidecarFileName(stem))));
    return meta && isValidKey(meta.key) ? meta.key : undefined;
  } catch {
    return undefined;
  }
}

async function hasOwnSidecar(dir: string, key: string): Promise<boolean> {
  try {
    const meta = parseRecordMetadata(await readJsonFile(childPath(dir, sidecarFileName(key))));
    return meta?.key === key;
  } catch {
    return false;
  }
}
