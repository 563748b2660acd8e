/**
 * Reading record files with as few thread-pool round trips as the job needs: plain file
 * descriptors through the callback API (no `FileHandle` objects to create and finalize), and
 * closes that nobody waits for.
 */
import { createHash } from 'node:crypto';
import fs, { type Stats } from 'node:fs';
import { Readable } from 'node:stream';

import { translateFsError } from './fs-faults.js';
import { nodeFs, type FsLayer, type FsStats } from './fs-layer.js';

/** Large reads keep the syscall count low for big records; memory per stream stays bounded. */
const CHUNK_SIZE = 512 * 1024;

/** Opens for reading without following a symlink (only regular files are records). */
const OPEN_FLAGS = fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0);

export function openForReading(file: string): Promise<number> {
  return new Promise((resolve, reject) => {
    fs.open(file, OPEN_FLAGS, (error, fd) => (error ? reject(error) : resolve(fd)));
  });
}

function fstat(fd: number): Promise<Stats> {
  return new Promise((resolve, reject) => {
    fs.fstat(fd, (error, stats) => (error ? reject(error) : resolve(stats)));
  });
}

function readAt(fd: number, buffer: Buffer, offset: number, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => {
    fs.read(fd, buffer, offset, length, position, (error, bytesRead) => (error ? reject(error) : resolve(bytesRead)));
  });
}

/** Closes in the background: the answer does not wait for it, and a failing close changes nothing read. */
function closeQuietly(fd: number): void {
  fs.close(fd, () => {});
}

/**
 * Reads a whole small file: open, fstat, read (one call when the size holds), close in the
 * background. Resolves with the bytes and the stats of the descriptor they came from.
 * Rejects `ENOENT`-style for a missing file or a symlink (`ELOOP`), and for anything that is not
 * a regular file.
 */
export async function readSmallFile(file: string): Promise<{ body: Buffer; stats: Stats }> {
  const fd = await openForReading(file);
  try {
    const stats = await fstat(fd);
    if (!stats.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'ENOENT' });
    const body = Buffer.allocUnsafe(stats.size);
    let filled = 0;
    while (filled < body.length) {
      const n = await readAt(fd, body, filled, body.length - filled, filled);
      if (n === 0) break;
      filled += n;
    }
    return { body: filled === body.length ? body : body.subarray(0, filled), stats };
  } finally {
    closeQuietly(fd);
  }
}

/** An open file a range is read from: a plain descriptor (`openDescriptor`) or an fs layer's handle. */
export interface RangeSource {
  stat(): Promise<FsStats>;
  read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  close(): Promise<void>;
}

/** Opens with `openForReading` and reads through the callback API; closing does not wait. */
export async function openDescriptor(file: string): Promise<RangeSource> {
  const fd = await openForReading(file);
  return {
    stat: () => fstat(fd),
    read: async (buffer, offset, length, position) => ({
      bytesRead: await readAt(fd, buffer as Buffer, offset, length, position),
    }),
    close: async () => closeQuietly(fd),
  };
}

/**
 * Streams a byte range (inclusive `end`) of a file, reading chunk by chunk on demand, so a
 * slow client holds at most one chunk in memory. `open` yields the open file; `verify` may reject
 * it (e.g. the file was replaced by a newer version since its metadata was read), which fails the
 * stream before any byte is sent.
 */
export class FileRangeStream extends Readable {
  private source: RangeSource | undefined;
  private position: number;

  constructor(
    private readonly openFile: () => Promise<RangeSource>,
    private readonly verify: (stats: FsStats) => void,
    start: number,
    private readonly end: number,
  ) {
    super({ highWaterMark: CHUNK_SIZE });
    this.position = start;
  }

  override _construct(callback: (error?: Error | null) => void): void {
    this.openFile()
      .then(async (source) => {
        this.source = source;
        this.verify(await source.stat());
      })
      .then(
        () => callback(),
        (error: Error) => callback(error),
      );
  }

  override _read(size: number): void {
    const remaining = this.end - this.position + 1;
    if (remaining <= 0) {
      this.push(null);
      return;
    }
    const length = Math.min(Math.max(size, CHUNK_SIZE), remaining);
    const buffer = Buffer.allocUnsafe(length);
    this.source!.read(buffer, 0, length, this.position).then(
      ({ bytesRead }) => {
        if (bytesRead === 0) {
          this.push(null);
          return;
        }
        this.position += bytesRead;
        this.push(bytesRead === length ? buffer : buffer.subarray(0, bytesRead));
      },
      (error: Error) => this.destroy(error),
    );
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const source = this.source;
    this.source = undefined;
    // A fault (EIO, EMFILE, ...) reaches the reader as its storage error code.
    const done = (failure: Error | null) => callback(failure && (translateFsError(failure, 'read') as Error));
    if (!source) {
      done(error);
      return;
    }
    source.close().then(
      () => done(error),
      (closeError: Error) => done(error ?? closeError),
    );
  }
}

/** Quoted md5 hex of some bytes, as record ETags are written. */
export function bytesEtag(bytes: Uint8Array): string {
  return `"${createHash('md5').update(bytes).digest('hex')}"`;
}

/** Quoted md5 hex of a file, read chunk by chunk through the given file system. */
export async function fileEtag(file: string, fsLayer: FsLayer = nodeFs): Promise<string> {
  const hash = createHash('md5');
  const handle = await fsLayer.open(file, 'r');
  try {
    const buffer = Buffer.allocUnsafe(CHUNK_SIZE);
    for (let position = 0; ; ) {
      const { bytesRead } = await handle.read(buffer, 0, CHUNK_SIZE, position);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
      position += bytesRead;
    }
  } finally {
    await handle.close();
  }
  return `"${hash.digest('hex')}"`;
}
