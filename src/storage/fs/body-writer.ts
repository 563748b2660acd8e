import { createHash } from 'node:crypto';
import { writeAll, type FsHandle } from './fs-layer.js';
import type { Readable } from 'node:stream';

import { PayloadTooLargeError } from '../errors.js';

export interface WrittenBody {
  size: number;
  /** Quoted md5 hex of the body. */
  etag: string;
}

/**
 * Writes a record body into an open file, hashing and counting as it goes.
 * Throws `PayloadTooLargeError` as soon as more than `maxBytes` arrive; the stream is
 * then paused and left to its owner (destroying it could kill an HTTP socket that still
 * has to carry the 413 answer).
 */
export async function writeBody(
  handle: FsHandle,
  body: Readable | Uint8Array,
  maxBytes = Infinity,
): Promise<WrittenBody> {
  const hash = createHash('md5');
  if (body instanceof Uint8Array) {
    if (body.byteLength > maxBytes) throw new PayloadTooLargeError(maxBytes, body.byteLength);
    hash.update(body);
    await writeAll(handle, body);
    return { size: body.byteLength, etag: `"${hash.digest('hex')}"` };
  }

  let size = 0;
  await consume(body, async (chunk) => {
    size += chunk.byteLength;
    if (size > maxBytes) throw new PayloadTooLargeError(maxBytes, size);
    hash.update(chunk);
    await writeAll(handle, chunk);
  });
  return { size, etag: `"${hash.digest('hex')}"` };
}

/**
 * Feeds a stream's chunks to `onChunk` one at a time (the stream is paused while a chunk
 * is handled). Unlike `for await`, stopping early does not destroy the stream.
 */
function consume(stream: Readable, onChunk: (chunk: Buffer) => Promise<void>): Promise<void> {
  return new Promise((resolve, reject) => {
    let busy = false;
    let ended = false;
    let settled = false;

    const cleanup = () => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.off('close', onClose);
    };
    const finish = (error?: unknown) => {
      if (settled) return;
      settled = true;
      cleanup();
      if (error) {
        stream.pause();
        reject(error);
      } else {
        resolve();
      }
    };
    const onData = (chunk: Buffer | string) => {
      const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      busy = true;
      stream.pause();
      onChunk(buffer).then(
        () => {
          busy = false;
          if (settled) return;
          if (ended) finish();
          else stream.resume();
        },
        (error) => finish(error),
      );
    };
    const onEnd = () => {
      ended = true;
      if (!busy) finish();
    };
    const onError = (error: Error) => finish(error);
    // A stream destroyed before its end (an aborted upload) must not count as complete.
    const onClose = () => {
      if (!ended) finish(new Error('The body stream closed before it ended.'));
    };

    if (stream.readableEnded) {
      resolve();
      return;
    }
    if (stream.destroyed) {
      reject(stream.errored ?? new Error('The body stream was already destroyed.'));
      return;
    }
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
    stream.on('close', onClose);
    stream.resume();
  });
}
