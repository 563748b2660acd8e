/**
 * Building a store's index from its folder in one sorted pass, streaming: the folder is read
 * entry by entry (never listed whole), each record file's stem goes once into a packed buffer,
 * the stems are sorted as bytes, each key's files grouped, and the keys packed into `KeyRows`
 * in order. No string or object per file outlives its turn: a folder of 5 million files loads
 * in ~20 bytes a name plus the rows. Nothing is read or statted per record unless a key's
 * files disagree (two data files, a long key's hashed name): sizes are taken later (see
 * `describe.ts`). The loop yields to the event loop every few thousand names, so a big
 * folder never stalls other requests for long.
 *
 * Tolerant of folders written by Crawlee or by hand (record files only, no metadata).
 */
import type { FsEntry, FsLayer } from './fs-layer.js';
import { KeyRowsBuilder, MAX_EXTENSION_CODES, type KeyRows } from './key-rows.js';
import { isLongKeyStem, isStemOf, LONG_KEY_MARK, parseFileName, sidecarFileName, childPath } from './layout.js';
import { intern, RecordEntry } from './record-entry.js';
import { isValidKey } from '../validation.js';
import { describeWithFiles, readSidecar, statRecordFile, type Leftover } from './describe.js';

/** How many names to handle between two yields to the event loop. */
const SLICE = 4096;

export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A record file found in the folder. */
interface FoundFile {
  stem: string;
  /** `undefined` for the sidecar, `null` for a data file without extension. */
  ext: string | null | undefined;
}

export interface ScanResult {
  /** The keys whose files agree (one data file, a plain name), packed in key order. */
  rows: KeyRows;
  /** Keys whose files need a closer look (long keys, two data files): resolved by `resolveConflicts`. */
  conflicts: Array<{ stem: string; files: FoundFile[] }>;
}

/** The code of a sidecar among a scan's extension codes. */
const SIDECAR = 0xffffffff;
const LONG_MARK_BYTE = LONG_KEY_MARK.charCodeAt(0);

/** The stems of the record files found, packed: bytes in one buffer, numbers in typed arrays. */
class FoundNames {
  bytes = Buffer.allocUnsafe(1 << 16);
  used = 0;
  start = new Uint32Array(1 << 12);
  length = new Uint16Array(1 << 12);
  /** Extension code (index into `extensions`), or `SIDECAR`. */
  code = new Uint32Array(1 << 12);
  count = 0;
  readonly extensions: Array<string | null> = [];
  private readonly codes = new Map<string | null, number>();

  codeOf(ext: string | null): number {
    let code = this.codes.get(ext);
    if (code === undefined) {
      code = this.extensions.length;
      this.extensions.push(ext === null ? null : intern(ext));
      this.codes.set(ext, code);
    }
    return code;
  }

  /** Adds a file whose stem is the first `stemLength` characters of `name` (ASCII). */
  add(name: string, stemLength: number, code: number): void {
    // Grown by half: a folder's worth of names is the biggest thing a load holds.
    if (this.used + stemLength > this.bytes.length) {
      const grown = Buffer.allocUnsafe(Math.max(Math.ceil(this.bytes.length * 1.5), this.used + stemLength));
      this.bytes.copy(grown, 0, 0, this.used);
      this.bytes = grown;
    }
    if (this.count === this.start.length) {
      const size = Math.ceil(this.count * 1.5);
      this.start = grow(this.start, new Uint32Array(size));
      this.length = grow(this.length, new Uint16Array(size));
      this.code = grow(this.code, new Uint32Array(size));
    }
    this.bytes.write(name, this.used, stemLength, 'latin1');
    this.start[this.count] = this.used;
    this.length[this.count] = stemLength;
    this.code[this.count] = code;
    this.used += stemLength;
    this.count++;
  }

  stem(i: number): string {
    return this.bytes.toString('latin1', this.start[i], this.start[i]! + this.length[i]!);
  }

  /** Byte order of two files' stems (keys are ASCII: the order of `<` on them too). */
  compare(a: number, b: number): number {
    const { bytes } = this;
    let i = this.start[a]!;
    let j = this.start[b]!;
    const aEnd = i + this.length[a]!;
    const bEnd = j + this.length[b]!;
    for (; i < aEnd && j < bEnd; i++, j++) {
      const difference = bytes[i]! - bytes[j]!;
      if (difference !== 0) return difference;
    }
    return aEnd - i - (bEnd - j);
  }

  /** A file's stem against `stem`. */
  compareTo(a: number, stem: string): number {
    const start = this.start[a]!;
    const length = this.length[a]!;
    const shorter = Math.min(length, stem.length);
    for (let i = 0; i < shorter; i++) {
      const difference = this.bytes[start + i]! - stem.charCodeAt(i);
      if (difference !== 0) return difference;
    }
    return length - stem.length;
  }

  isLongStem(i: number): boolean {
    const start = this.start[i]!;
    return this.bytes.subarray(start, start + this.length[i]!).includes(LONG_MARK_BYTE);
  }
}

function grow<T extends Uint32Array | Uint16Array>(from: T, to: T): T {
  to.set(from);
  return to;
}

/** The folder's entries one by one (streamed where the file system can). */
async function* folderEntries(fs: FsLayer, dir: string): AsyncIterable<FsEntry> {
  if (fs.list) yield* fs.list(dir);
  else yield* await fs.readdir(dir);
}

/** Lists and groups a store folder's record files. */
export async function scanRecordFiles(fs: FsLayer, storeDir: string): Promise<ScanResult> {
  const names = new FoundNames();
  let seen = 0;
  for await (const dirent of folderEntries(fs, storeDir)) {
    if (++seen % SLICE === 0) await yieldToEventLoop();
    if (!dirent.isFile()) continue;
    const parsed = parseFileName(dirent.name);
    if (parsed.kind === 'store-metadata' || !(isValidKey(parsed.stem) || isLongKeyStem(parsed.stem))) continue;
    names.add(dirent.name, parsed.stem.length, parsed.kind === 'record-metadata' ? SIDECAR : names.codeOf(parsed.ext));
  }
  const compare = (a: number, b: number) => names.compare(a, b);
  let order = await sortInSlices(identity(names.count), compare);
  if (adoptKeyNamedFiles(names, order)) order = await sortInSlices(order, compare);

  // At most one row per file, holding at most its stem's bytes.
  const rows = new KeyRowsBuilder(names.extensions, names.count, names.used);
  const conflicts: ScanResult['conflicts'] = [];
  for (let i = 0; i < order.length; ) {
    if (i % SLICE === SLICE - 1) await yieldToEventLoop();
    const first = order[i]!;
    let end = i + 1;
    while (end < order.length && names.compare(order[end]!, first) === 0) end++;
    let dataFiles = 0;
    let data = first;
    for (let k = i; k < end; k++) {
      if (names.code[order[k]!] !== SIDECAR) {
        dataFiles++;
        data = order[k]!;
      }
    }
    const code = names.code[data]!;
    if (dataFiles === 1 && code < MAX_EXTENSION_CODES && !names.isLongStem(first)) {
      rows.add(names.bytes, names.start[first]!, names.length[first]!, code, dataFiles < end - i);
    } else {
      const stem = names.stem(first);
      const files: FoundFile[] = [];
      for (let k = i; k < end; k++) {
        const fileCode = names.code[order[k]!]!;
        files.push({ stem, ext: fileCode === SIDECAR ? undefined : names.extensions[fileCode] });
      }
      conflicts.push({ stem, files });
    }
    i = end;
  }
  return { rows: rows.finish(), conflicts };
}

function identity(count: number): Uint32Array {
  const order = new Uint32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  return order;
}

/**
 * Crawlee names a record's file after the key alone when the key's own extension fits the
 * content type (key `page.html`, text/html: file `page.html`, sidecar
 * `page.html.__metadata__.json`). Such a file belongs to the sidecar's key, not to `page`:
 * it is regrouped under that stem, without extension. `order` is sorted; returns whether a
 * file moved (then it must be sorted again).
 */
function adoptKeyNamedFiles(names: FoundNames, order: Uint32Array): boolean {
  // Sidecars of valid keys without a data file of their own stem.
  const orphans: number[] = [];
  for (let i = 0; i < order.length; ) {
    let end = i + 1;
    while (end < order.length && names.compare(order[end]!, order[i]!) === 0) end++;
    let onlySidecars = true;
    for (let k = i; k < end; k++) if (names.code[order[k]!] !== SIDECAR) onlySidecars = false;
    if (onlySidecars && !names.isLongStem(order[i]!)) orphans.push(order[i]!);
    i = end;
  }
  let moved = false;
  for (const sidecar of orphans) {
    const stem = names.stem(sidecar);
    if (!isValidKey(stem)) continue;
    // The data file named `stem` whole: stem `page`, extension `html`.
    const parsed = parseFileName(stem);
    if (parsed.kind !== 'data' || parsed.ext === null) continue;
    let low = 0;
    let high = order.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (names.compareTo(order[middle]!, parsed.stem) < 0) low = middle + 1;
      else high = middle;
    }
    const code = names.codeOf(parsed.ext);
    for (let k = low; k < order.length && names.compareTo(order[k]!, parsed.stem) === 0; k++) {
      const file = order[k]!;
      if (names.code[file] !== code) continue;
      names.start[file] = names.start[sidecar]!;
      names.length[file] = names.length[sidecar]!;
      names.code[file] = names.codeOf(null);
      moved = true;
      break;
    }
  }
  return moved;
}

/**
 * Settles the keys `scanRecordFiles` could not: a long key's files (named by a hash; the key
 * is in the sidecar), a key with two data files (the newest wins: see `describeWithFiles`), or
 * a sidecar whose body is gone (a delete cut short, or another program removed the body).
 * Calls `add` for each record found; `existing` gives a plain-named entry of the same key, if
 * any (a long key Crawlee wrote under its own name). Removes nothing: files of ours that lost
 * (and our sidecars without a body) are passed to `leftover`, for the write path to remove.
 */
export async function resolveConflicts(
  fs: FsLayer,
  storeDir: string,
  conflicts: ScanResult['conflicts'],
  existing: (key: string) => RecordEntry | undefined,
  add: (entry: RecordEntry) => void,
  leftover: (file: Leftover) => void = () => {},
): Promise<void> {
  for (const { stem, files } of conflicts) {
    const hasSidecar = files.some((file) => file.ext === undefined);
    const data = files.filter((file) => file.ext !== undefined).map((file) => ({ stem, ext: file.ext as string | null }));
    let key = stem;
    if (isLongKeyStem(stem)) {
      const sidecarKey = hasSidecar ? await readSidecarKey(fs, childPath(storeDir, `${stem}.__metadata__.json`)) : null;
      if (sidecarKey === null || !isStemOf(sidecarKey, stem)) continue;
      key = sidecarKey;
      const plain = existing(key);
      if (plain && !plain.longStem) data.push({ stem: key, ext: plain.ext });
    }
    if (data.length === 0) {
      // Our metadata of a record whose body is gone. Another program's sidecar (no ETag) is
      // not ours to remove, ever.
      if (hasSidecar) {
        const fileName = sidecarFileName(stem);
        const file = childPath(storeDir, fileName);
        const stats = await statRecordFile(fs, file);
        if (stats && (await readSidecar(fs, file))?.etag !== undefined) {
          const sidecarKey = await readSidecarKey(fs, file);
          if (sidecarKey !== null) leftover({ key: sidecarKey, fileName, ino: stats.ino, size: stats.size, mtimeMs: stats.mtimeMs });
        }
      }
      continue;
    }
    const { entry, leftovers } = await describeWithFiles(fs, storeDir, key, stem, hasSidecar, data);
    if (entry) add(entry);
    for (const file of leftovers) leftover(file);
  }
}

async function readSidecarKey(fs: FsLayer, file: string): Promise<string | null> {
  try {
    const raw = JSON.parse((await fs.readFile(file)).toString('utf8')) as { key?: unknown };
    return typeof raw?.key === 'string' && isValidKey(raw.key) ? raw.key : null;
  } catch {
    return null;
  }
}

/** Sorts in runs, then merges them, yielding between steps. */
export async function sortInSlices(items: Uint32Array, compare: (a: number, b: number) => number): Promise<Uint32Array> {
  for (let i = 0; i < items.length; i += SLICE) {
    items.subarray(i, i + SLICE).sort(compare);
    await yieldToEventLoop();
  }
  let from: Uint32Array = items;
  let to: Uint32Array = new Uint32Array(items.length);
  for (let width = SLICE; width < items.length; width *= 2) {
    for (let left = 0; left < items.length; left += 2 * width) {
      await merge(from, to, left, Math.min(left + width, items.length), Math.min(left + 2 * width, items.length), compare);
    }
    [from, to] = [to, from];
  }
  return from;
}

/** Merges the sorted runs `from[left..middle)` and `from[middle..right)` into `to[left..right)`. */
async function merge(
  from: Uint32Array,
  to: Uint32Array,
  left: number,
  middle: number,
  right: number,
  compare: (a: number, b: number) => number,
): Promise<void> {
  let i = left;
  let j = middle;
  let k = left;
  while (i < middle && j < right) {
    to[k++] = compare(from[i]!, from[j]!) <= 0 ? from[i++]! : from[j++]!;
    if (k % (SLICE * 8) === 0) await yieldToEventLoop();
  }
  while (i < middle) to[k++] = from[i++]!;
  while (j < right) to[k++] = from[j++]!;
}
