/**
 * Reading a response body whole, for the lean Node adapter. The chunks are kept as they arrive and
 * joined at the end; a large body is joined a slice at a time, with a turn of the event loop
 * between slices: one copy of 200 MiB into fresh memory held the loop for about 0.6 s, during
 * which no other request, timer or progress callback of the process ran.
 */
import type { Readable } from 'node:stream';
import type { ProgressReporter } from '../http/progress.js';

/** Bodies from this size on are joined in slices; smaller ones in one call (a few milliseconds). */
export const MIN_SLICED_JOIN_BYTES = 8 * 1024 * 1024;
/** Bytes copied per turn of the event loop (about 2-4 ms here). */
const JOIN_SLICE_BYTES = 2 * 1024 * 1024;

/**
 * Reads `body` to its end, reporting progress (`total` bytes when known) as it arrives, and hands
 * the joined bytes to `done`. Errors are the caller's to listen for.
 */
export function readWhole(body: Readable, total: number | undefined, download: ProgressReporter | undefined, done: (data: Buffer) => void): void {
  const chunks: Buffer[] = [];
  let received = 0;
  body.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    received += chunk.length;
    download?.report(received, total);
  });
  body.on('end', () => {
    if (received < MIN_SLICED_JOIN_BYTES) done(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received));
    else joinInSlices(chunks, received, done);
  });
}

function joinInSlices(chunks: Buffer[], length: number, done: (data: Buffer) => void): void {
  const whole = Buffer.allocUnsafe(length);
  let at = 0;
  let next = 0;
  const step = () => {
    const stop = at + JOIN_SLICE_BYTES;
    while (next < chunks.length && at < stop) {
      at += chunks[next]!.copy(whole, at);
      // Each chunk is let go once copied: the body is not held twice to the end.
      chunks[next++] = EMPTY;
    }
    if (next < chunks.length) setImmediate(step);
    else done(whole);
  };
  step();
}

const EMPTY = Buffer.alloc(0);
