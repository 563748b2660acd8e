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
  /**
   * The body's mtime as our writer left it, exactly as Node reports it (ours only): while the
   * file still has it, nobody wrote into the file since (a write sets the clock's time).
   */
  bodyMtimeMs?: number;
  /** The file stem, written only when it is not the key's usual one (a case twin's hashed stem). */
  stem?: string;
}

/** A sidecar as read from disk. */
export interface SidecarOnDisk extends RecordMetadataFile {
  /**
   * Set for Crawlee's (3.x encodes its sidecars twice): written in place, right after its body,
   * also written in place. The sidecar file's mtime once it was read (see `sidecarFits`).
   */
  crawleeWrittenMs?: number;
}

export function serializeRecordMetadata(meta: RecordMetadataFile): string {
  return JSON.stringify(meta, null, 2);
}

/**
 * `null` when the content is not a usable sidecar. `crawlee` tells whether it was encoded twice,
 * as Crawlee 3.x writes its sidecars (a JSON string holding the object).
 */
export function parseRecordMetadata(raw: unknown): (RecordMetadataFile & { crawlee: boolean }) | null {
  const crawlee = typeof raw === 'string';
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
    bodyMtimeMs: typeof data.bodyMtimeMs === 'number' && Number.isFinite(data.bodyMtimeMs) ? data.bodyMtimeMs : undefined,
    stem: typeof data.stem === 'string' ? data.stem : undefined,
    crawlee,
  };
}
