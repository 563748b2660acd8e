/**
 * A response body read whole (the lean Node adapter's buffered answers): small bodies are joined in
 * one call, large ones a slice at a time with turns of the event loop between, and the bytes come
 * out as they went in either way.
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { MIN_SLICED_JOIN_BYTES, readWhole } from '../../src/client/platform/whole-body.js';

/** Bytes that differ along the body, so a chunk lost, doubled or moved shows. */
function pattern(size: number): Buffer {
  const bytes = Buffer.alloc(size);
  for (let i = 0; i + 4 <= size; i += 4) bytes.writeUInt32LE((i * 2654435761) >>> 0, i);
  return bytes;
}

/** Reads `body` in chunks of `chunk` bytes; counts the event-loop turns between its end and the bytes handed on. */
async function read(body: Buffer, chunk: number) {
  const pieces = [];
  for (let at = 0; at < body.length; at += chunk) pieces.push(body.subarray(at, at + chunk));
  const stream = Readable.from(pieces, { objectMode: false });
  const progress: number[] = [];
  let turns = 0;
  const data = await new Promise<Buffer>((resolve) => {
    let done = false;
    readWhole(stream, body.length, { report: (loaded) => progress.push(loaded), finish: () => undefined }, (joined) => {
      done = true;
      resolve(joined);
    });
    // Runs after the reader's own end handler: a join done in one call has already handed the bytes on.
    stream.on('end', () => {
      const tick = () => {
        if (done) return;
        turns++;
        setImmediate(tick);
      };
      setImmediate(tick);
    });
  });
  return { data, turns, progress };
}

describe('readWhole', () => {
  it('joins a large body a slice at a time, letting the event loop turn, and the bytes are intact', async () => {
    const body = pattern(MIN_SLICED_JOIN_BYTES * 2 + 4_100);
    const { data, turns, progress } = await read(body, 64 * 1024 + 3);
    expect(Buffer.compare(data, body)).toBe(0);
    expect(turns).toBeGreaterThanOrEqual(4);
    expect(progress.at(-1)).toBe(body.length);
  });

  it('joins a small body in one call', async () => {
    const body = pattern(MIN_SLICED_JOIN_BYTES - 4);
    const { data, turns } = await read(body, 64 * 1024);
    expect(Buffer.compare(data, body)).toBe(0);
    expect(turns).toBe(0);
  });

  it('hands on a body of one chunk, and an empty one, as they are', async () => {
    for (const size of [0, 1000]) {
      const body = pattern(size);
      const { data } = await read(body, Math.max(size, 1));
      expect(Buffer.compare(data, body)).toBe(0);
    }
  });
});
