/**
 * A store's keys as a scan found them, packed: every key's bytes once in one buffer, and per
 * key a few numbers in typed arrays (where its bytes start, its extension as a code, whether
 * it has a sidecar, its size once known). About key length + 15 bytes a key, against ~150
 * for an object per key: a store of 5 million keys fits in ~100 MiB, outside the JS heap.
 *
 * Rows are in key order and never move; a row can only be given up (`GONE`: the key changed
 * or left, and the index's overlay speaks for it now) or taken back (`restore`).
 */
const SIDECAR = 1;
const GONE = 2;

/** Extension codes a row can hold (a Uint16Array); more distinct extensions go the slow way. */
export const MAX_EXTENSION_CODES = 0xffff;

export class KeyRows {
  /** Rows of no key (each with its own extension table). */
  static empty(): KeyRows {
    return new KeyRows(Buffer.alloc(0), new Uint32Array(1), new Uint16Array(0), new Uint8Array(0), [], 0);
  }

  /** Size of each row's file in bytes; -1 until statted. */
  readonly sizes: Float64Array;
  private readonly codes = new Map<string | null, number>();

  constructor(
    /** Every key's bytes (keys are ASCII), in row order. */
    private readonly keyBytes: Buffer,
    /** Row `i`'s key is `keyBytes[offsets[i] .. offsets[i + 1]]`. */
    private readonly offsets: Uint32Array,
    /** Row `i`'s data file extension: `extensions[ext[i]]`. */
    private readonly ext: Uint16Array,
    private readonly flags: Uint8Array,
    /** Extensions by code (`null`: a file without one). Grows when a row takes a new one. */
    private readonly extensions: Array<string | null>,
    /** Rows given up already (built so by the scan: none). */
    gone: number,
    /** Sizes, when known (else all -1). */
    sizes?: Float64Array,
  ) {
    this.sizes = sizes ?? new Float64Array(ext.length).fill(-1);
    extensions.forEach((extension, code) => this.codes.set(extension, code));
    this.live = ext.length - gone;
  }

  /** Rows not given up. */
  live: number;

  get count(): number {
    return this.ext.length;
  }

  /** Bytes held (the buffers; the extension table is shared and small). */
  get bytes(): number {
    return this.keyBytes.byteLength + this.offsets.byteLength + this.ext.byteLength + this.flags.byteLength + this.sizes.byteLength;
  }

  key(row: number): string {
    return this.keyBytes.toString('latin1', this.offsets[row], this.offsets[row + 1]);
  }

  extension(row: number): string | null {
    return this.extensions[this.ext[row]!]!;
  }

  hasSidecar(row: number): boolean {
    return (this.flags[row]! & SIDECAR) !== 0;
  }

  isGone(row: number): boolean {
    return (this.flags[row]! & GONE) !== 0;
  }

  giveUp(row: number): void {
    if (this.isGone(row)) return;
    this.flags[row] = this.flags[row]! | GONE;
    this.live--;
  }

  /** The code of an extension (a new one is added), or -1 when no more codes are left. */
  codeOf(extension: string | null): number {
    let code = this.codes.get(extension);
    if (code === undefined) {
      if (this.extensions.length >= MAX_EXTENSION_CODES) return -1;
      code = this.extensions.length;
      this.extensions.push(extension);
      this.codes.set(extension, code);
    }
    return code;
  }

  /** Extensions by code, for rows built from these. */
  get extensionTable(): Array<string | null> {
    return this.extensions;
  }

  /** Row `row`'s key bytes, for a builder. */
  keyRange(row: number): [bytes: Buffer, start: number, length: number] {
    const start = this.offsets[row]!;
    return [this.keyBytes, start, this.offsets[row + 1]! - start];
  }

  /** Bytes of all keys. */
  get keyBytesLength(): number {
    return this.keyBytes.byteLength;
  }

  /** The extension code of a row. */
  code(row: number): number {
    return this.ext[row]!;
  }

  /**
   * Takes a given-up row back with what the overlay knew of its key; false when the
   * extension cannot be coded (the key then stays in the overlay).
   */
  restore(row: number, extension: string | null, hasSidecar: boolean, size: number): boolean {
    const code = this.codeOf(extension);
    if (code < 0) return false;
    if (this.isGone(row)) this.live++;
    this.ext[row] = code;
    this.flags[row] = hasSidecar ? SIDECAR : 0;
    this.sizes[row] = size;
    return true;
  }

  /** The row holding `key` (given up or not), or -1. */
  find(key: string): number {
    const row = this.lowerBound(key);
    return row < this.count && this.compareRow(row, key) === 0 ? row : -1;
  }

  /** The first row whose key is >= `key` (`count` when none). */
  lowerBound(key: string): number {
    let low = 0;
    let high = this.count;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.compareRow(middle, key) < 0) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  /** Row's key against `key`, in the index's order (UTF-16 units; keys are ASCII, so bytes). */
  private compareRow(row: number, key: string): number {
    const start = this.offsets[row]!;
    const length = this.offsets[row + 1]! - start;
    const shorter = Math.min(length, key.length);
    for (let i = 0; i < shorter; i++) {
      const difference = this.keyBytes[start + i]! - key.charCodeAt(i);
      if (difference !== 0) return difference;
    }
    return length - key.length;
  }
}

/**
 * Builds `KeyRows` in key order. Sized up front when the caller knows at most how many rows
 * and key bytes will come (a scan does: no buffer is grown or copied), else grown as rows come.
 */
export class KeyRowsBuilder {
  private keyBytes: Buffer;
  private used = 0;
  private offsets: Uint32Array;
  private ext: Uint16Array;
  private flags: Uint8Array;
  private sizes: Float64Array | undefined;
  private rows = 0;

  constructor(
    private readonly extensions: Array<string | null>,
    maxRows = 1 << 12,
    maxKeyBytes = 1 << 16,
  ) {
    this.keyBytes = Buffer.allocUnsafe(maxKeyBytes);
    this.offsets = new Uint32Array(maxRows + 1);
    this.ext = new Uint16Array(maxRows + 1);
    this.flags = new Uint8Array(maxRows + 1);
  }

  /** Appends a row; `key` is `length` bytes of `source` from `start` (ASCII); `size` -1: unknown. */
  add(source: Uint8Array, start: number, length: number, code: number, hasSidecar: boolean, size = -1): void {
    if (this.used + length > this.keyBytes.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.keyBytes.length * 2, this.used + length));
      this.keyBytes.copy(grown, 0, 0, this.used);
      this.keyBytes = grown;
    }
    if (this.rows + 2 > this.offsets.length) {
      this.offsets = grow(this.offsets, new Uint32Array(this.offsets.length * 2));
      this.ext = grow(this.ext, new Uint16Array(this.offsets.length));
      this.flags = grow(this.flags, new Uint8Array(this.offsets.length));
      if (this.sizes) this.sizes = grow(this.sizes, new Float64Array(this.offsets.length));
    }
    if (size !== -1 && !this.sizes) this.sizes = new Float64Array(this.offsets.length).fill(-1);
    if (this.sizes) this.sizes[this.rows] = size;
    this.keyBytes.set(source.subarray(start, start + length), this.used);
    this.offsets[this.rows] = this.used;
    this.ext[this.rows] = code;
    this.flags[this.rows] = hasSidecar ? SIDECAR : 0;
    this.used += length;
    this.rows++;
  }

  /** The rows; buffers much bigger than needed are cut to size (copied), others kept as they are. */
  finish(): KeyRows {
    this.offsets[this.rows] = this.used;
    const fit = <T extends Uint8Array | Uint16Array | Uint32Array>(array: T, length: number): T =>
      (length < array.length * 0.8 ? array.slice(0, length) : array.subarray(0, length)) as T;
    // `Buffer#slice` is a view: copied with `Buffer.from`.
    const keyBytes = this.used < this.keyBytes.length * 0.8 ? Buffer.from(this.keyBytes.subarray(0, this.used)) : this.keyBytes.subarray(0, this.used);
    return new KeyRows(
      keyBytes,
      fit(this.offsets, this.rows + 1),
      fit(this.ext, this.rows),
      fit(this.flags, this.rows),
      this.extensions,
      0,
      this.sizes?.slice(0, this.rows),
    );
  }
}

function grow<T extends Uint32Array | Uint16Array | Uint8Array | Float64Array>(from: T, to: T): T {
  to.set(from);
  return to;
}
