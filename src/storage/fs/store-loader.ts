/**
 * Interprets a store folder found on disk: its `__metadata__.json` if any (ours or
 * Crawlee's), else the folder name. The rules follow the layout: a named store lives in a
 * folder named after it, an unnamed one in a folder named after its id.
 */
import { isNotFound, readJsonFile } from './fs-utils.js';
import { childPath, STORE_METADATA_FILE } from './layout.js';
import { parseStoreInfo } from '../store-metadata.js';
import type { StoreInfo } from '../types.js';
import { isValidStoreName } from '../validation.js';

/** Ids we accept from metadata files: ours (17 alphanumerics), Crawlee's UUIDs and the like. */
const ACCEPTABLE_ID = /^[a-zA-Z0-9_-]{1,64}$/;
/** Folder names that are ids rather than names: ours, and Crawlee's UUIDs. */
const ID_LIKE_FOLDER = /^(?:[a-zA-Z0-9]{17}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i;

export interface LoadedStoreFolder {
  info: StoreInfo;
  /** The metadata file is missing or incomplete and should be (re)written. */
  needsSave: boolean;
  /** No stats were on disk; they must be computed from the records. */
  needsStats: boolean;
}

/**
 * `null` when the folder cannot be a store (no metadata and a name that is not a valid
 * store name). `newId` gives a fresh unused id; `isIdTaken` rejects duplicate ids.
 */
export async function readStoreFolder(
  storesDir: string,
  folder: string,
  now: Date,
  newId: () => string,
  isIdTaken: (id: string) => boolean,
): Promise<LoadedStoreFolder | null> {
  let raw: unknown;
  let hasMetadata = true;
  try {
    raw = await readJsonFile(childPath(childPath(storesDir, folder), STORE_METADATA_FILE));
  } catch (error) {
    // Missing, or unreadable JSON (a hand-edited file): rebuild it from what we can see.
    if (!isNotFound(error) && !(error instanceof SyntaxError)) throw error;
    hasMetadata = false;
  }
  if (raw === null || typeof raw !== 'object') hasMetadata = false;
  const parsed = parseStoreInfo(hasMetadata ? raw : undefined, now);

  let name: string | null;
  if (isValidStoreName(parsed.name)) {
    name = parsed.name;
  } else if (isValidStoreName(folder) && !(hasMetadata && parsed.name === null && ID_LIKE_FOLDER.test(folder))) {
    // No name recorded, and the folder is not named after an id: the folder name is the name.
    name = folder;
  } else if (hasMetadata) {
    name = null;
  } else {
    return null;
  }

  const id = parsed.id && ACCEPTABLE_ID.test(parsed.id) && !isIdTaken(parsed.id) ? parsed.id : newId();
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
  };
  const data = (hasMetadata ? raw : {}) as Record<string, unknown>;
  const complete =
    hasMetadata &&
    data.id === id &&
    data.name === name &&
    typeof data.userId === 'string' &&
    typeof data.username === 'string' &&
    typeof data.generalAccess === 'string' &&
    typeof data.accessedAt === 'string' &&
    typeof data.stats === 'object' &&
    data.stats !== null;
  return { info, needsSave: !complete, needsStats: !(data.stats && typeof data.stats === 'object') };
}
