/**
 * The write of one record: a plain `PUT`, or, for a body over the payload limit, an upload to the
 * signed URL the server hands out. `KeyValueStoreClient.writeRecord` and the flat API call it.
 */
import { encodeBody, readAhead, type PreparedBody } from '../body.js';
import { isApifyApiError } from '../http/errors.js';
import type { CallOptions, HttpResponse } from '../http/http-client.js';
import { checkedUpload, uploadDigest, type UploadDigest } from '../integrity.js';
import { platform } from '../platform/node.js';
import { requireConditionalWrites } from './conditions.js';
import { nullOn404, type ResourceContext } from './context.js';

/** One record write, as the internal `writeRecord` takes it. @internal */
export interface RecordWrite {
  call: CallOptions;
  key: string;
  value: unknown;
  contentType?: string;
  contentLength?: number;
  /** Indent of JSON bodies: apify-client v2's `setRecord` sends them indented by 2. */
  jsonIndent?: number;
  /** `If-Match` / `If-None-Match` headers (see conditions.ts). */
  conditions?: Record<string, string>;
}

/**
 * `PUT` of a record to `recordPath` of store `storeId`. A body over `maxPayloadBytes` (or, with
 * unknown size, one that reads past it), or one the server refuses as too large (413), goes
 * through a direct-upload URL when the server offers one. @internal
 */
export async function writeRecord(ctx: ResourceContext, storeId: string, storePath: string, recordPath: string, w: RecordWrite): Promise<void> {
  const { call, key } = w;
  const max = ctx.maxPayloadBytes();
  let body = await encodeBody(w.value, w.contentType, w.contentLength, w.jsonIndent);
  let size = body.bytes ? body.bytes.byteLength : await body.stream!.size();
  if (size === undefined && body.stream?.chunks) {
    body = await readAhead(body, max);
    size = body.bytes?.byteLength;
  }
  const large = body.overLimit === true || (size !== undefined && size > max);
  const conditions = w.conditions;
  // A conditional write is never retried once it may have been acted on (a repeat would meet
  // its own write and answer 412), and never goes to a direct-upload URL (which takes no condition).
  if (conditions) {
    await requireConditionalWrites(ctx.features, ctx.baseUrl, () => ctx.http.request({ method: 'GET', path: storePath, call }));
  }
  const pending = body.bytes && ctx.integrity() ? uploadDigest(body.bytes, call.signal) : undefined;
  // A large body's digest comes later: it is hashed in slices, letting other work run meanwhile.
  const checksum = pending instanceof Promise ? await pending : pending;
  let etag: string | undefined;
  // The call's `onUploadProgress` watches the body to either place; a direct upload after a
  // refused `PUT` counts again from 0.
  const direct = large && !conditions ? await directUpload(ctx, recordPath, call, body, checksum) : null;
  if (direct) etag = direct.header('etag');
  else {
    try {
      const headers = conditions ? { ...conditions, ...checksum?.headers } : checksum?.headers;
      const put = () => ctx.http.request({ method: 'PUT', path: recordPath, call, body, compress: true, headers, idempotent: !conditions });
      etag = (await checkedUpload(checksum, put)).header('etag');
    } catch (error) {
      // The server's limit may be lower than ours: a body that can be sent again goes the direct way.
      const replayable = body.bytes !== undefined || body.stream?.replayable === true;
      const tooLarge = isApifyApiError(error) && error.statusCode === 413;
      const retried = tooLarge && replayable && !large && !conditions ? await directUpload(ctx, recordPath, call, body, checksum) : null;
      if (!retried) throw error;
      etag = retried.header('etag');
    }
  }
  // Conditional writers expect others to write the key: a note would hold their reads of
  // newer versions back for the whole window. (Servers that honour conditions read their own
  // writes; a stale read would only fail the next condition.)
  if (conditions) return;
  // Both the ETag and what names the bytes, for ETags of different formats: the MD5 the check
  // took (a large body is not hashed again), else a digest of the bytes.
  const md5 = checksum?.md5;
  const digest = md5 ?? (body.bytes && ctx.reads.enabled ? platform.digest(body.bytes) : undefined);
  ctx.reads.noteWrite(storeId, key, { exists: true, at: ctx.now(), etag, digest, md5: md5 !== undefined });
}

/**
 * Uploads a large body to a signed URL the server hands out. Returns the upload's answer, or null
 * when the server has no such endpoint (404), so the caller falls back to a plain PUT.
 */
async function directUpload(
  ctx: ResourceContext,
  recordPath: string,
  call: CallOptions,
  body: PreparedBody,
  digest?: UploadDigest,
): Promise<HttpResponse | null> {
  const response = await ctx.http.request({ method: 'GET', path: `${recordPath}/direct-upload-url`, call }).catch(nullOn404);
  const signedUrl = response && response.data<{ signedUrl?: unknown }>().signedUrl;
  if (typeof signedUrl !== 'string' || signedUrl === '') return null;
  // The signed URL carries its own authorisation: the token is not sent there.
  const url = new URL(signedUrl, ctx.baseUrl).href;
  return checkedUpload(digest, () => ctx.http.request({ method: 'PUT', url, body, call, headers: digest?.headers }));
}
