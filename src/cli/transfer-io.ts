/** Byte-level helpers of push and pull. */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import { md5OfStream } from '../sdk/digest.js';

/** md5 hex of a file's bytes. */
export async function md5OfFile(filePath: string): Promise<string> {
  return (await md5OfStream(createReadStream(filePath))).md5;
}

/** Streams into a file, returning the md5 and length of what was written. */
export async function writeAndHash(source: Readable, filePath: string): Promise<{ md5: string; size: number }> {
  const hash = createHash('md5');
  let size = 0;
  await pipeline(
    source,
    async function* measure(chunks: AsyncIterable<Buffer>) {
      for await (const chunk of chunks) {
        hash.update(chunk);
        size += chunk.length;
        yield chunk;
      }
    },
    createWriteStream(filePath),
  );
  return { md5: hash.digest('hex'), size };
}

/**
 * Runs `worker` over `items` with at most `limit` in flight. Every item runs: a failing item is
 * the worker's to record (keep going), so `worker` should not throw.
 */
export async function runAll<T>(items: readonly T[], limit: number, worker: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await worker(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
}

/** One line for a failure: the message, with the error code when it adds something. */
export function reasonOf(error: unknown): string {
  const e = error as { name?: unknown; message?: unknown; code?: unknown };
  // An API error's message is the server's text alone (as in apify-client v2): its `toString` adds the status.
  if (e?.name === 'ApifyApiError') return String(error).replace(/^ApifyApiError: /, '');
  const message = typeof e?.message === 'string' ? e.message : String(error);
  return typeof e?.code === 'string' && !message.includes(e.code) ? `${message} (${e.code})` : message;
}
