/**
 * The store's `__metadata__.json`. Crawlee writes `{id, name, createdAt, modifiedAt,
 * accessedAt, ...}`; we keep those fields and add the owner, access setting and stats.
 * Files from Crawlee (or hand-made ones) miss fields; they get defaults.
 */
import { GENERAL_ACCESS_VALUES, LOCAL_USER, type GeneralAccess, type StoreInfo, type StoreStats } from './types.js';

export const DEFAULT_GENERAL_ACCESS: GeneralAccess = 'FOLLOW_USER_SETTING';

export function emptyStats(): StoreStats {
  return { readCount: 0, writeCount: 0, deleteCount: 0, listCount: 0, storageBytes: 0 };
}

/**
 * The metadata file's text. `extra` is what the file held before (read-modify-write): fields
 * we do not know (the user's, a newer Crawlee's) are kept as they were.
 */
export function serializeStoreInfo(info: StoreInfo, extra: Record<string, unknown> = {}): string {
  return `${JSON.stringify(
    {
      ...extra,
      id: info.id,
      name: info.name,
      userId: info.userId,
      username: info.username,
      createdAt: info.createdAt.toISOString(),
      modifiedAt: info.modifiedAt.toISOString(),
      accessedAt: info.accessedAt.toISOString(),
      generalAccess: info.generalAccess,
      stats: info.stats,
      ...(info.temporary ? { temporary: true } : {}),
    },
    null,
    2,
  )}\n`;
}

/**
 * Reads whatever a metadata file holds into a full `StoreInfo`. Returns the fields it
 * could not take from the file as `undefined` so the caller can decide (e.g. a new id).
 */
export function parseStoreInfo(raw: unknown, fallbackTime: Date): Partial<StoreInfo> & Pick<StoreInfo, 'createdAt' | 'modifiedAt' | 'accessedAt' | 'generalAccess' | 'stats' | 'userId' | 'username'> {
  const data = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
  const createdAt = parseDate(data.createdAt) ?? fallbackTime;
  return {
    id: typeof data.id === 'string' ? data.id : undefined,
    name: typeof data.name === 'string' ? data.name : data.name === null ? null : undefined,
    userId: typeof data.userId === 'string' && data.userId ? data.userId : LOCAL_USER.id,
    username: typeof data.username === 'string' && data.username ? data.username : LOCAL_USER.username,
    createdAt,
    modifiedAt: parseDate(data.modifiedAt) ?? createdAt,
    accessedAt: parseDate(data.accessedAt) ?? fallbackTime,
    generalAccess: GENERAL_ACCESS_VALUES.includes(data.generalAccess as GeneralAccess)
      ? (data.generalAccess as GeneralAccess)
      : DEFAULT_GENERAL_ACCESS,
    stats: parseStats(data.stats),
    temporary: data.temporary === true,
  };
}

function parseStats(raw: unknown): StoreStats {
  const stats = emptyStats();
  if (raw && typeof raw === 'object') {
    for (const field of Object.keys(stats) as Array<keyof StoreStats>) {
      const value = (raw as Record<string, unknown>)[field];
      if (typeof value === 'number' && Number.isFinite(value) && value >= 0) stats[field] = value;
    }
  }
  return stats;
}

function parseDate(value: unknown): Date | undefined {
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** A copy the caller may keep or change without touching the engine's state. */
export function cloneStoreInfo(info: StoreInfo): StoreInfo {
  return {
    ...info,
    createdAt: new Date(info.createdAt),
    modifiedAt: new Date(info.modifiedAt),
    accessedAt: new Date(info.accessedAt),
    stats: { ...info.stats },
  };
}
