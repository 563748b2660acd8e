import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';

import { nodeFs, type FsHandle, type FsLayer, type FsStats } from './fs-layer.js';

const CHUNK_SIZE = 64 * 1024;

/**
 * Streams a byte range (inclusive `end`) of a file, reading chunk by chunk on demand.
 * `open` yields the handle; `verify` may reject it (e.g. the file was replaced by a newer
 * version since its metadata was read), which fails the stream before any byte is sent.
 */
export class FileRangeStream extends Readable {
  private handle: FsHandle | undefined;
  private position: number;

  constructor(
    private readonly openFile: () => Promise<FsHandle>,
    private readonly verify: (stats: FsStats) => void,
    start: number,
    private readonly end: number,
  ) {
    super({ highWaterMark: CHUNK_SIZE });
    this.position = start;
  }

  override _construct(callback: (error?: Error | null) => void): void {
    this.openFile()
      .then(async (handle) => {
        this.handle = handle;
        this.verify(await handle.stat());
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
    this.handle!.read(buffer, 0, length, this.position).then(
      ({ bytesRead }) => {
        if (bytesRead === 0) {
          this.push(null);
          return;
        }
        this.position += bytesRead;
        this.push(buffer.subarray(0, bytesRead));
      },
      (error: Error) => this.destroy(error),
    );
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const handle = this.handle;
    this.handle = undefined;
    if (!handle) {
      callback(error);
      return;
    }
    handle.close().then(
      () => callback(error),
      (closeError: Error) => callback(error ?? closeError),
    );
  }
}

/** Quoted md5 hex of a file, read chunk by chunk. */
export async function fileEtag(file: string, fs: FsLayer = nodeFs): Promise<string> {
  const hash = createHash('md5');
  const handle = await fs.open(file, 'r');
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
