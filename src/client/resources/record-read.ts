/**
 * The read of one record (`GET .../records/{key}`): through the read journal (read-your-writes),
 * with the integrity check of buffered bodies, and the body handed back as the caller asked it.
 * `KeyValueStoreClient.readRecord` calls it, for `getRecord`, the flat API and the bulk reads.
 */
import { decodeBody } from '../body.js';
import { ApifyNetworkError } from '../http/errors.js';
import type { CallOptions } from '../http/http-client.js';
import { checkedDownload } from '../integrity.js';
import { platform } from '../platform/node.js';
import type { KeyValueStoreRecordWithBody, WaitOptions } from '../types.js';
import { checkDuration } from '../validation.js';
import { noteFeatures } from './conditions.js';
import { nullOn404, type ResourceContext } from './context.js';

/** How a record body is handed back: decoded by content type, as raw bytes, or as a stream. */
export type BodyMode = 'value' | 'bytes' | 'stream';

/** One record read, as the internal `readRecord` takes it. @internal */
export interface RecordRead extends WaitOptions {
  call: CallOptions;
  key: string;
  as: BodyMode;
  attachment?: boolean;
  signature?: string;
}

/**
 * The error a streamed record body fails with: silent past the time limit (no `cause`), or cut
 * off by the transport. The transport's error is not kept: it holds the request's headers.
 */
function streamError(recordPath: string, cause?: Error & { code?: string }): Error {
  const code = cause?.code ?? 'ETIMEDOUT';
  const timeout = !cause || code === 'ECONNABORTED' || code === 'ETIMEDOUT';
  return new ApifyNetworkError({
    method: 'GET',
    path: recordPath,
    attempt: 1,
    type: timeout ? 'timeout' : 'network-error',
    code,
    detail: timeout ? 'the record stream sent nothing within the time limit' : 'the record stream broke off',
  });
}

/** `GET` of the record at `recordPath` of store `storeId`, through the journal; null when there is none. @internal */
export async function readRecord(ctx: ResourceContext, storeId: string, recordPath: string, r: RecordRead): Promise<KeyValueStoreRecordWithBody | null> {
  const { call, key, as } = r;
  const stream = as === 'stream';
  const response = await ctx.reads.read({
    store: storeId,
    key,
    waitMillis: checkDuration(r.waitMillis, 'waitMillis') ?? 0,
    signal: call.signal,
    read: () => {
      const get = () =>
        ctx.http
          .request({
            method: 'GET',
            path: recordPath,
            call,
            // `true` as apify-client v2 sends it (a string: its serializer sends booleans as 1/0).
            query: { attachment: r.attachment ? 'true' : undefined, signature: r.signature },
            responseType: stream ? 'stream' : 'bytes',
          })
          .catch(nullOn404);
      // A streamed body is handed on unread: it is not checked.
      return stream || !ctx.integrity() ? get() : checkedDownload(get, call.signal);
    },
    outcome: (res) =>
      res === null
        ? { exists: false }
        : {
            exists: true,
            etag: res.header('etag'),
            digest: stream ? undefined : (md5) => (md5 ? platform.md5Hex?.(res.bytes) : platform.digest(res.bytes)),
          },
    discard: (res) => {
      if (res && stream) platform.discardStream(res.stream);
    },
  });
  noteFeatures(ctx.features, response);
  if (!response) return null;
  const contentType = response.header('content-type') ?? 'application/octet-stream';
  const idleMillis = Math.max(1, Math.round((call.timeoutSecs ?? ctx.timeoutSecs()) * 1000));
  const body =
    as === 'stream'
      ? platform.userStream(response.stream, idleMillis, (cause) => streamError(recordPath, cause))
      : as === 'bytes'
        ? platform.userBytes(response.bytes)
        : decodeBody(response.bytes, contentType, (error) => {
            throw response.invalid('invalid-json-record', `Record "${key}" is stored as ${contentType} but does not parse: ${error.message}`);
          });
  return { key, body, contentType, etag: response.header('etag') };
}
