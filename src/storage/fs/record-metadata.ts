/**
 * A record's sidecar `{KEY}.__metadata__.json`. Crawlee writes `{key, contentType,
 * extension}`; we add size, ETag and modification time, which Crawlee ignores.
 */
export interface RecordMetadataFile {
  key: string;
  contentType: string;
  extension: string;
  size?: number;
  etag?: string;
  modifiedAt?: string;
  /**
   * The inode of the data file this sidecar was written for (ours only). Two writers of one
   * key in two processes can cross: one's body, the other's sidecar. The inode tells them apart.
   */
  inode?: number;
  /** The file stem, written only when it is not the key's usual one (a case twin's hashed stem). */
  stem?: string;
}

export function serializeRecordMetadata(meta: RecordMetadataFile): string {
  return JSON.stringify(meta, null, 2);
}

/** `null` when the content is not a usable sidecar. */
export function parseRecordMetadata(raw: unknown): RecordMetadataFile | null {
  // Crawlee 3.x writes its sidecars JSON-encoded twice (a JSON string holding the object).
  if (typeof raw === 'string') {
    try {
      raw = JSON.parse(raw);
    } catch {
      return null;
    }
  }
  if (!raw || typeof raw !== 'object') return null;
  const data = raw as Record<string, unknown>;
  if (typeof data.key !== 'string' || typeof data.contentType !== 'string' || !data.contentType) return null;
  if (typeof data.extension !== 'string' || !/^[a-zA-Z0-9]{1,16}$/.test(data.extension)) return null;
  return {
    key: data.key,
    contentType: data.contentType,
    extension: data.extension,
    size: typeof data.size === 'number' ? data.size : undefined,
    etag: typeof data.etag === 'string' ? data.etag : undefined,
    modifiedAt: typeof data.modifiedAt === 'string' ? data.modifiedAt : undefined,
    inode: typeof data.inode === 'number' && Number.isSafeInteger(data.inode) ? data.inode : undefined,
    stem: typeof data.stem === 'string' ? data.stem : undefined,
  };
}
