/**
 * Record bodies larger than one part, streamed to S3 as a multipart upload, so a large body
 * (a direct upload through the server, up to its `maxDirectUploadBytes`) is never held whole
 * in memory: one part at a time is.
 *
 * - Atomic: the object appears only when S3 completes the upload, in one step; until then
 *   readers and listings see the record as it was. A failed or aborted upload is aborted at S3.
 * - Checked: every part goes with its Content-MD5, which S3 verifies before taking it (400
 *   BadDigest otherwise), and a part is a buffer, so a failed part is simply sent again.
 * - The ETag: Ceph RGW 16.2 answers the completion with an empty one; S3's multipart ETag is the
 *   MD5 of the parts' MD5s and their count, which RGW's later HEAD and GET answer too.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';

import { MAX_PAYLOAD_BYTES } from '../../rules.js';
import type { RecordBody } from '../backend.js';
import { PayloadTooLargeError } from '../errors.js';
import { isS3Failure, toStorageError, type Bucket } from './s3-client.js';

/**
 * Bytes per part (S3 takes 5 MiB to 5 GiB, the last part smaller): the API's payload limit, so
 * every body a plain PUT may carry is still one single PUT.
 */
export const PART_BYTES = MAX_PAYLOAD_BYTES;

/** The body in parts of exactly `partBytes` bytes (the last one shorter; an empty body is one empty part). */
export async function* bodyParts(body: RecordBody, partBytes = PART_BYTES): AsyncGenerator<Buffer> {
  const limit = body.maxBytes ?? Infinity;
  const source = body.stream as Readable | Uint8Array;
  if (source instanceof Uint8Array) {
    if (source.byteLength > limit) throw new PayloadTooLargeError(limit, source.byteLength);
    const whole = Buffer.from(source.buffer, source.byteOffset, source.byteLength);
    for (let start = 0; start < whole.byteLength || start === 0; start += partBytes) yield whole.subarray(start, start + partBytes);
    return;
  }
  let chunks: Buffer[] = [];
  let filled = 0;
  let total = 0;
  for await (const chunk of source) {
    let buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    total += buf.byteLength;
    if (total > limit) {
      source.destroy();
      throw new PayloadTooLargeError(limit, total);
    }
    while (filled + buf.byteLength >= partBytes) {
      const take = partBytes - filled;
      chunks.push(buf.subarray(0, take));
      yield Buffer.concat(chunks, partBytes);
      chunks = [];
      filled = 0;
      buf = buf.subarray(take);
    }
    if (buf.byteLength > 0) {
      chunks.push(buf);
      filled += buf.byteLength;
    }
  }
  if (filled > 0 || total === 0) yield Buffer.concat(chunks, filled);
}

/**
 * The body whole when it fits one part (one single PUT), else its parts in order, read as they
 * are taken: at most the first two are held before the upload starts, and each is let go once
 * taken. `stop` ends the reading early (it stops the body's stream).
 */
export async function wholeOrParts(
  body: RecordBody,
): Promise<{ whole: Buffer } | { parts: AsyncIterable<Buffer>; stop: () => Promise<unknown> }> {
  const rest = bodyParts(body);
  const head: Buffer[] = [];
  while (head.length < 2) {
    const next = await rest.next();
    if (next.done) return { whole: head[0] ?? Buffer.alloc(0) };
    head.push(next.value);
  }
  const parts = (async function* () {
    while (head.length > 0) yield head.shift()!;
    yield* rest;
  })();
  return { parts, stop: () => rest.return(undefined) };
}

/**
 * Writes `parts` as object `name` by one multipart upload: nothing of it is visible until the
 * completion; a failure (S3's, or the body's stream) aborts the upload and is thrown.
 */
export async function putMultipart(
  bucket: Bucket,
  name: string,
  parts: AsyncIterable<Buffer>,
  type: { contentType: string; metadata?: Record<string, string> },
): Promise<{ etag: string; size: number }> {
  const { sdk, s3 } = await bucket.ready();
  const target = { Bucket: bucket.name, Key: name };
  let uploadId: string | undefined;
  let completed = false;
  try {
    ({ UploadId: uploadId } = await s3.send(new sdk.CreateMultipartUploadCommand({ ...target, ContentType: type.contentType, Metadata: type.metadata })));
    if (!uploadId) throw new Error('S3 started a multipart upload without an upload id.');
    const sent: Array<{ PartNumber: number; ETag: string | undefined }> = [];
    const digests: Buffer[] = [];
    let size = 0;
    for await (const part of parts) {
      const md5 = createHash('md5').update(part).digest();
      const PartNumber = sent.length + 1;
      const { ETag } = await s3.send(
        new sdk.UploadPartCommand({ ...target, UploadId: uploadId, PartNumber, Body: part, ContentLength: part.byteLength, ContentMD5: md5.toString('base64') }),
      );
      sent.push({ PartNumber, ETag });
      digests.push(md5);
      size += part.byteLength;
    }
    const answer = await s3.send(new sdk.CompleteMultipartUploadCommand({ ...target, UploadId: uploadId, MultipartUpload: { Parts: sent } }));
    completed = true;
    const etag = answer.ETag || `"${createHash('md5').update(Buffer.concat(digests)).digest('hex')}-${sent.length}"`;
    return { etag, size };
  } catch (error) {
    // The parts of an unfinished upload take space in the bucket until aborted.
    if (uploadId && !completed) await s3.send(new sdk.AbortMultipartUploadCommand({ ...target, UploadId: uploadId })).catch(() => {});
    throw isS3Failure(error) ? toStorageError(error, 'a write') : error;
  }
}
