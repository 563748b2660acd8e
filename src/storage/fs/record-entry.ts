/**
 * One record as the index keeps it, kept small: a store of 200,000 records holds 200,000 of
 * these. What a listing does not need (content type, ETag, time) is learned on first read;
 * the size comes from a stat, done for a page on demand and for the rest in the background.
 */
import { contentTypeForExtension } from '../content-types.js';
import { dataFileName } from './layout.js';

export class RecordEntry {
  /** Bytes; -1 until the file has been statted. */
  size = -1;
  /** Inode of the data file, to notice a file replaced between two steps of a read; -1 until known. */
  ino = -1;
  /** Exact content type; undefined until read from the sidecar (or taken from the extension). */
  contentType: string | undefined = undefined;
  /** Quoted md5; undefined until computed or read from a sidecar that still matches the file. */
  etag: string | undefined = undefined;
  /** Milliseconds since the epoch; NaN until known. */
  modifiedMs = NaN;
  /**
   * The data file's mtime and ctime when `etag` was last confirmed: the ETag is trusted only
   * while inode, size and both times are unchanged (a same-size rewrite in place keeps the
   * inode and size). NaN: not known (the mtime is then never trusted; the ctime is learned).
   */
  etagMtimeMs = NaN;
  etagCtimeMs = NaN;

  constructor(
    readonly key: string,
    /** Extension of the data file; `null` for a file without one. */
    readonly ext: string | null,
    /** A sidecar `{stem}.__metadata__.json` exists (read on first use). */
    public hasSidecar: boolean,
    /** Only for long keys: the hashed stem of their file names (see `fileStemFor`). */
    readonly longStem: string | undefined = undefined,
  ) {}

  get stem(): string {
    return this.longStem ?? this.key;
  }

  /** The data file's name. */
  get fileName(): string {
    return dataFileOf(this.stem, this.ext);
  }

  get isDescribed(): boolean {
    return this.contentType !== undefined && this.ino !== -1;
  }
}

export function dataFileOf(stem: string, ext: string | null): string {
  return ext === null ? stem : dataFileName(stem, ext);
}

const shared = new Map<string, string>();

/**
 * One copy of each distinct short string (extensions, content types): most records of a
 * store share a handful, and an index of 200,000 records should not hold 200,000 copies.
 */
export function intern(value: string): string {
  if (value.length > 200) return value;
  const known = shared.get(value);
  if (known !== undefined) return known;
  if (shared.size < 10_000) shared.set(value, value);
  return value;
}

export function contentTypeOfExtension(ext: string | null): string {
  return intern(contentTypeForExtension(ext));
}
