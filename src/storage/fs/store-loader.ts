/**
 * Interprets a store folder found on disk: its `__metadata__.json` if any (ours, Crawlee's
 * or the Apify SDK's), else the folder name. Nothing here writes: what a store is called is
 * read, never fixed up, and a folder is never renamed to match.
 *
 * - The name is the one recorded in the metadata, whatever it is (Crawlee allows `my_store`,
 *   `Store.v2`, names the API would refuse for a new store). Without a recorded name, a
 *   folder named like an id is an unnamed store and any other folder is named after itself.
 * - The id is the recorded one; else an id-like folder's own name; else one derived from the
 *   folder name, so a folder without metadata has the same id every time it is opened.
 */
import { createHash } from 'node:crypto';

import { nodeFs, type FsLayer } from './fs-layer.js';
import { childPath, STORE_METADATA_FILE } from './layout.js';
import { readMetadataFile } from './store-metadata-file.js';
import { parseStoreInfo } from '../store-metadata.js';
import { LOCAL_USER, type StoreInfo } from '../types.js';

/** Ids we accept from metadata files: ours (17 alphanumerics), Crawlee's UUIDs and the like. */
const ACCEPTABLE_ID = /^[a-zA-Z0-9_-]{1,64}$/;
/** Folder names that are ids rather than names: ours, and Crawlee's UUIDs. */
const ID_LIKE_FOLDER = /^(?:[a-zA-Z0-9]{17}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i;

export interface LoadedStoreFolder {
  info: StoreInfo;
  /** What the metadata file held (unknown fields are written back unchanged). */
  extra: Record<string, unknown>;
  /** The metadata file is missing; it may be added (never by a read-only open). */
  needsSave: boolean;
  /** No stats were on disk; they must be computed from the records. */
  needsStats: boolean;
  /**
   * The metadata file as found: `whole`, or `missing` or `unreadable` (being written, or torn),
   * when id and name were guessed from the folder.
   */
  metadata: 'whole' | 'missing' | 'unreadable';
}

/** The `userId` Crawlee writes in every store's metadata: a placeholder, not an owner. */
const CRAWLEE_USER_ID = '1';

/**
 * Whether the file's owner fields are an owner of ours: a `username` (Crawlee writes none),
 * and not Crawlee's placeholder id beside the local user's name (what our merge left in a file
 * Crawlee had rewritten, before owners were merged as a pair).
 */
function ownerIsOurs(data: Record<string, unknown>): boolean {
  if (typeof data.username !== 'string') return false;
  return !(data.userId === CRAWLEE_USER_ID && data.username === LOCAL_USER.username);
}

/** `isIdTaken` rejects an id another folder already uses (a copied folder keeps its metadata). */
export async function readStoreFolder(
  storesDir: string,
  folder: string,
  now: Date,
  isIdTaken: (id: string) => boolean,
  fs: FsLayer = nodeFs,
): Promise<LoadedStoreFolder> {
  // Missing, or unreadable (a hand-edited file, one being written): go by the folder.
  const onDisk = await readMetadataFile(childPath(childPath(storesDir, folder), STORE_METADATA_FILE), fs);
  const hasMetadata = onDisk.kind === 'object';
  const data = onDisk.kind === 'object' ? onDisk.data : {};
  const parsed = parseStoreInfo(data, now);
  if (!ownerIsOurs(data)) {
    // Not written by us (Crawlee writes `userId: "1"`): the folder's owner is the local user.
    parsed.userId = LOCAL_USER.id;
    parsed.username = LOCAL_USER.username;
  }

  let name: string | null;
  if (typeof data.name === 'string' && data.name !== '') name = data.name;
  else if (data.name === null || ID_LIKE_FOLDER.test(folder)) name = null;
  else name = folder;

  const candidates = [
    parsed.id && ACCEPTABLE_ID.test(parsed.id) ? parsed.id : undefined,
    ID_LIKE_FOLDER.test(folder) ? folder : undefined,
    derivedId(folder),
    derivedId(`${folder}\n${parsed.id ?? ''}`),
  ];
  const id = candidates.find((candidate): candidate is string => candidate !== undefined && !isIdTaken(candidate));
  if (id === undefined) throw new Error(`No free id for store folder ${JSON.stringify(folder)}.`);

  const info: StoreInfo = {
    id,
    name,
    userId: parsed.userId,
    username: parsed.username,
    createdAt: parsed.createdAt,
    modifiedAt: parsed.modifiedAt,
    accessedAt: parsed.accessedAt,
    generalAccess: parsed.generalAccess,
    stats: parsed.stats,
    ...(parsed.temporary ? { temporary: true } : {}),
  };
  return {
    info,
    extra: hasMetadata ? { ...data } : {},
    // A metadata file that exists is left as it is until the store changes (one that does not
    // parse, maybe being written, is never replaced); a missing one is added.
    needsSave: onDisk.kind === 'missing',
    needsStats: !(data.stats && typeof data.stats === 'object'),
    metadata: onDisk.kind === 'object' ? 'whole' : onDisk.kind,
  };
}

/**
 * `given` was built on `guessed` (an identity taken from the folder) by a caller that changed
 * some of it; `learned` is what the metadata file says. Returns `learned` with the caller's
 * changes: a new name or access setting, later times, counter increments.
 */
export function carryOver(given: StoreInfo, guessed: StoreInfo, learned: StoreInfo): StoreInfo {
  const out: StoreInfo = { ...learned, stats: { ...learned.stats } };
  if (given.name !== guessed.name) out.name = given.name;
  if (given.generalAccess !== guessed.generalAccess) out.generalAccess = given.generalAccess;
  if (given.accessedAt > out.accessedAt) out.accessedAt = given.accessedAt;
  if (given.modifiedAt > out.modifiedAt) out.modifiedAt = given.modifiedAt;
  for (const field of Object.keys(out.stats) as Array<keyof StoreInfo['stats']>) {
    out.stats[field] = Math.max(0, out.stats[field] + given.stats[field] - guessed.stats[field]);
  }
  return out;
}

const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** A stable 17-character id for a folder without one. */
function derivedId(seed: string): string {
  const digest = createHash('sha256').update(`apify-kv store folder\n${seed}`).digest();
  let id = '';
  for (let i = 0; i < 17; i++) id += ID_ALPHABET[digest[i]! % ID_ALPHABET.length];
  return id;
}
