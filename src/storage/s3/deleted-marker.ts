/**
 * The marker a conditional delete leaves in a record's object. S3 (and Ceph RGW 16.2, which
 * ignores `If-Match` on DELETE) can only replace an object conditionally, never remove one, so a
 * delete that must happen only while the record is a given version replaces it with this marker
 * by a conditional PUT: one atomic step, as a conditional write is. Reads, listings and
 * conditions take the marker for a missing record; any later write replaces it, and a plain
 * delete removes it.
 *
 * The marker is known by its bytes, which a LIST shows by size and ETag (MD5): a record whose
 * body is exactly these bytes would read as missing, so writing them is refused.
 */
import { createHash } from 'node:crypto';

export const DELETED_MARKER = Buffer.from(
  'apify-kv deleted-record marker v1: this record was removed by a conditional delete; reads and listings skip it.\n',
);
export const DELETED_MARKER_CONTENT_TYPE = 'application/x-apify-kv-deleted';
const MARKER_MD5 = createHash('md5').update(DELETED_MARKER).digest('hex');

const bare = (etag: string) => etag.replace(/^W\//, '').replace(/^"|"$/g, '');

/** Whether an object of this size and ETag is the marker. */
export function isDeletedMarker(object: { size: number; etag: string }): boolean {
  return object.size === DELETED_MARKER.byteLength && bare(object.etag) === MARKER_MD5;
}

/** Whether a body to store is exactly the marker's bytes. */
export function isMarkerBody(bytes: Uint8Array): boolean {
  return bytes.byteLength === DELETED_MARKER.byteLength && Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).equals(DELETED_MARKER);
}
