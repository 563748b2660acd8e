/**
 * One record as one S3 object: reading it (small bodies at once, large ones streamed from that
 * same version), and the record's exact content type on the object.
 */
import { PassThrough, Readable } from 'node:stream';

import type { RecordInfo, StoredRecord } from '../types.js';
import { readBody, type Bucket } from './s3-client.js';

/** Bodies up to this size are read at once with the metadata; larger ones stream when opened. */
const BUFFER_BELOW_BYTES = 256 * 1024;
/** An opened-but-unread large body is released after this long (and re-fetched if asked for). */
const UNREAD_BODY_MILLIS = 10_000;

/** The record held by object `name`, or `null` when there is no such object. One GET. */
export async function readRecordObject(
  bucket: Bucket,
  name: string,
  key: string,
  fallbackContentType: string,
): Promise<StoredRecord | null> {
  const res = await bucket.get(name);
  if (!res) return null;
  const { size, etag, body } = res;
  const info: RecordInfo = {
    key,
    contentType: recordContentType(res.contentType, res.metadata) ?? fallbackContentType,
    size,
    etag,
    modifiedAt: res.modified ?? new Date(),
  };
  if (size < BUFFER_BELOW_BYTES) {
    const bytes = await readBody(body);
    return {
      ...info,
      openStream: (range) => Readable.from(range ? [bytes.subarray(range.start, range.end + 1)] : [bytes]),
    };
  }
  // A large body streams from S3: the open response for the first full read, else a new GET
  // of that same version (If-Match), so a concurrent write never mixes two bodies.
  let pending: Readable | null = body;
  const release = setTimeout(() => {
    pending?.destroy();
    pending = null;
  }, UNREAD_BODY_MILLIS);
  release.unref();
  return {
    ...info,
    openStream: (range) => {
      if (!range && pending) {
        const stream = pending;
        pending = null;
        clearTimeout(release);
        return stream;
      }
      const out = new PassThrough();
      bucket
        .get(name, { range: range ? `bytes=${range.start}-${range.end}` : undefined, ifMatch: etag || undefined })
        .then((again) => {
          if (!again) throw new Error(`Record ${key} changed or disappeared while being read.`);
          again.body.on('error', (e) => out.destroy(e)).pipe(out);
        })
        .catch((error: Error) => out.destroy(error));
      return out;
    },
  };
}

/** Object metadata holding a content type that is no valid header value, percent-encoded. */
const CONTENT_TYPE_META = 'apify-kv-content-type';
const HEADER_SAFE = /^[\t\x20-\x7e]*$/;

/**
 * The object's Content-Type for a record's content type. S3 sends it as a header, which takes
 * printable ASCII only; any other (`text/html; charset=ü`) is kept exactly, percent-encoded in
 * the object's metadata, with a generic Content-Type on the object.
 */
export function objectContentType(contentType: string): { contentType: string; metadata?: Record<string, string> } {
  if (HEADER_SAFE.test(contentType)) return { contentType };
  return { contentType: 'application/octet-stream', metadata: { [CONTENT_TYPE_META]: encodeURIComponent(contentType) } };
}

/** The record's content type from an object's Content-Type and metadata (see `objectContentType`). */
function recordContentType(header: string | undefined, metadata: Record<string, string> | undefined): string | undefined {
  const encoded = metadata?.[CONTENT_TYPE_META];
  if (encoded !== undefined) {
    try {
      return decodeURIComponent(encoded);
    } catch {
      // Not ours: the header then.
    }
  }
  return header || undefined;
}
