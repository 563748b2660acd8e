/**
 * A store's metadata object (`__metadata__.json`) as the S3 catalog keeps it: the store's
 * metadata as on disk, plus, while a name is being taken, the pending name.
 *
 * A pending name is the first half of a two-object change (metadata, then the name's claim):
 * it takes effect exactly when the claim of that name points at this store. So a reader that
 * finds one looks at the claim: for a store being created, no claim means no store yet; for a
 * rename, no claim means the old name still holds.
 */
import { cloneStoreInfo, parseStoreInfo, serializeStoreInfo } from '../store-metadata.js';
import type { StoreInfo, StoreStats } from '../types.js';

export interface PendingName {
  name: string;
  /** Tells the writer its own marker from a later one. */
  token: string;
  /** True while the store itself is being created (it exists once the claim is made). */
  creating: boolean;
  /** When it was written (ms); an old one that never took effect may be dropped by any saver. */
  at: number;
}

export interface StoreDoc {
  info: StoreInfo;
  pending: PendingName | null;
  etag: string;
  /** The object's fields as read: a save keeps those it does not know (the record layout). */
  raw: Record<string, unknown>;
}

const PENDING_FIELD = 'apifyKvPendingName';
/** The Content-Type a metadata object is written with. */
export const DOC_CONTENT_TYPE = 'application/json; charset=utf-8';

/** The metadata object's text; `extra` holds fields to keep as they were (see `StoreDoc.raw`). */
export function serializeDoc(info: StoreInfo, pending: PendingName | null, extra: Record<string, unknown> = {}): string {
  const { [PENDING_FIELD]: _previous, ...kept } = extra;
  return serializeStoreInfo(info, pending ? { ...kept, [PENDING_FIELD]: pending } : kept);
}

/** The metadata object's text as a doc, or `null` when it is none of ours. */
export function parseDoc(text: string, etag: string): StoreDoc | null {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return null;
  }
  const parsed = parseStoreInfo(raw, new Date());
  if (!parsed.id) return null;
  const info: StoreInfo = { ...parsed, id: parsed.id, name: parsed.name ?? null };
  const fields = raw as Record<string, unknown>;
  return { info, pending: parsePending(fields[PENDING_FIELD]), etag, raw: fields };
}

function parsePending(value: unknown): PendingName | null {
  if (!value || typeof value !== 'object') return null;
  const { name, token, creating, at } = value as Record<string, unknown>;
  if (typeof name !== 'string' || typeof token !== 'string' || typeof at !== 'number') return null;
  return { name, token, creating: creating === true, at };
}

/**
 * Three-way merge of a save: what this instance changed since it last read the store (`ours`
 * against `base`) applied to what the bucket holds now (`theirs`). Counters add up, so two
 * instances' stats both count, approximately.
 */
export function mergeInfo(base: StoreInfo, ours: StoreInfo, theirs: StoreInfo): StoreInfo {
  const merged = cloneStoreInfo(theirs);
  if (ours.name !== base.name) merged.name = ours.name;
  if (ours.generalAccess !== base.generalAccess) merged.generalAccess = ours.generalAccess;
  for (const field of ['modifiedAt', 'accessedAt'] as const) {
    if (ours[field].getTime() > merged[field].getTime()) merged[field] = new Date(ours[field]);
  }
  for (const field of Object.keys(merged.stats) as Array<keyof StoreStats>) {
    merged.stats[field] = Math.max(0, theirs.stats[field] + ours.stats[field] - base.stats[field]);
  }
  return merged;
}
