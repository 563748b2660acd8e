/** How the S3 backend cuts a record body into multipart parts (no S3 needed). */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';

import { PayloadTooLargeError } from '../../src/storage/errors.js';
import { bodyParts } from '../../src/storage/s3/multipart-put.js';

async function partsOf(stream: Readable | Uint8Array, partBytes: number, maxBytes?: number): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const part of bodyParts({ stream, maxBytes }, partBytes)) out.push(Buffer.from(part));
  return out;
}

const bytes = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + 7) % 256));

describe('bodyParts', () => {
  it('cuts a stream of uneven chunks into parts of exactly the part size, the last one shorter, in order', async () => {
    const data = bytes(1000);
    const chunks: Buffer[] = [];
    let at = 0;
    for (const n of [3, 97, 1, 250, 249, 400]) {
      chunks.push(data.subarray(at, at + n));
      at += n;
    }
    const parts = await partsOf(Readable.from(chunks), 300);
    expect(parts.map((p) => p.length)).toEqual([300, 300, 300, 100]);
    expect(Buffer.concat(parts).equals(data)).toBe(true);
  });

  it('gives one part for a body of at most one part (one single PUT), and one empty part for an empty body', async () => {
    expect((await partsOf(Readable.from([bytes(300)]), 300)).map((p) => p.length)).toEqual([300]);
    expect((await partsOf(Readable.from([bytes(299)]), 300)).map((p) => p.length)).toEqual([299]);
    expect((await partsOf(Readable.from([]), 300)).map((p) => p.length)).toEqual([0]);
    expect((await partsOf(new Uint8Array(0), 300)).map((p) => p.length)).toEqual([0]);
  });

  it('cuts a buffer the same way', async () => {
    const data = bytes(601);
    const parts = await partsOf(data, 300);
    expect(parts.map((p) => p.length)).toEqual([300, 300, 1]);
    expect(Buffer.concat(parts).equals(data)).toBe(true);
  });

  it('stops with PayloadTooLargeError once the body passes maxBytes, and destroys the stream', async () => {
    const stream = Readable.from([bytes(250), bytes(250), bytes(250)]);
    await expect(partsOf(stream, 300, 600)).rejects.toBeInstanceOf(PayloadTooLargeError);
    expect(stream.destroyed).toBe(true);
    await expect(partsOf(bytes(601), 300, 600)).rejects.toBeInstanceOf(PayloadTooLargeError);
  });
});
