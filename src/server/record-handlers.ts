/** Keys listing, the records ZIP, single records, and direct uploads. */
import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { StoreInfo } from '../storage/types.js';
import { canWrite, requireUser } from './auth.js';
import { bodyEncoding, corruptBody, declaredLength, decodeBody } from './body.js';
import { checkMd5, expectedMd5, integrityMismatch, isStorageIntegrityMismatch } from './content-md5.js';
import { allowBody, baseUrl, resolveStore, viewContext, type AppContext, type RequestState } from './context.js';
import {
  ApiError,
  directUploadTooLarge,
  invalidInput,
  isPayloadTooLarge,
  payloadTooLarge,
  recordNotFound,
  storeNotFound,
} from './errors.js';
import { FEATURE_PAIRS, requestConditions } from './conditions.js';
import { cannotRespond, sendData, sendJson, sendJsonBytes, sendNoContent } from './responses.js';
import { queryValue } from './routes.js';
import { assertValidKey, assertValidStoreRef, parseBoolean, parseLimit } from './validation.js';
import { KeysPageCache } from './keys-page.js';
import { recordUrl } from './views.js';
import { sendRecordsZip } from './zip.js';

const MAX_CONTENT_TYPE_LENGTH = 1000;

/** A valid `signature` for the store's keys/records URLs. */
function contentSigned(ctx: AppContext, state: RequestState) {
  const signature = queryValue(state.query, 'signature');
  return (store: StoreInfo) => !!signature && ctx.signer.verifyStoreContentSignature(store.id, signature, ctx.now());
}

export async function listKeys(ctx: AppContext, state: RequestState, ref: string | undefined): Promise<void> {
  const { query } = state;
  const limit = parseLimit(queryValue(query, 'limit'));
  const exclusiveStartKey = queryValue(query, 'exclusiveStartKey') || undefined;
  const prefix = queryValue(query, 'prefix') || undefined;
  rejectCollection(query);
  const store = await resolveStore(ctx, state, ref, 'read', contentSigned(ctx, state));
  const page = await ctx.storage.listKeys(store.id, { exclusiveStartKey, limit, prefix });
  const view = viewContext(ctx, state, canWrite(state.principal, store));
  const body = keysPageCache(ctx).body(store.id, page, view, `${exclusiveStartKey ?? ''}\n${prefix ?? ''}\n${limit ?? ''}`);
  sendJsonBytes(state.res, 200, body, [...ctx.origins.headerPairs(state.req), ...FEATURE_PAIRS]);
}

const keysPages = new WeakMap<AppContext, KeysPageCache>();

/** One cache of keys pages per server (their signatures are the server's). */
function keysPageCache(ctx: AppContext): KeysPageCache {
  let cache = keysPages.get(ctx);
  if (!cache) keysPages.set(ctx, (cache = new KeysPageCache()));
  return cache;
}

export async function downloadRecords(ctx: AppContext, state: RequestState, ref: string | undefined): Promise<void> {
  const prefix = queryValue(state.query, 'prefix') || undefined;
  rejectCollection(state.query);
  const store = await resolveStore(ctx, state, ref, 'read', contentSigned(ctx, state));
  await sendRecordsZip(state.res, ctx.storage, store, prefix, state.req.method === 'HEAD');
}

/** Collections need a store schema, which stores here never have. */
function rejectCollection(query: URLSearchParams): void {
  if (query.has('collection')) {
    throw invalidInput('Parameter "collection" needs a key-value store schema; stores on this server have none.');
  }
}

export async function getRecord(ctx: AppContext, state: RequestState, ref: string | undefined, key: string | undefined): Promise<void> {
  assertValidKey(key);
  const attachment = parseBoolean(queryValue(state.query, 'attachment'), 'attachment');
  const signature = queryValue(state.query, 'signature');
  const store = await resolveStore(ctx, state, ref, 'read', (s) =>
    !!signature &&
    (ctx.signer.verifyRecordSignature(s.id, key, signature) || ctx.signer.verifyStoreContentSignature(s.id, signature, ctx.now())),
  );
  const record = await ctx.storage.getRecord(store.id, key);
  if (!record) throw recordNotFound();

  const { req, res } = state;
  const notModified = etagMatches(req.headers['if-none-match'], record.etag);
  // The body is open before any header goes out: a record that vanished since the lookup is a 404.
  let stream: Readable | undefined;
  if (req.method !== 'HEAD' && !notModified && !record.body) stream = await openBody(record.openStream());

  const headers = [
    ...ctx.origins.headerPairs(req),
    ...FEATURE_PAIRS,
    'Content-Type', record.contentType,
    'ETag', record.etag,
    'Last-Modified', record.modifiedAt.toUTCString(),
    'Cache-Control', 'no-cache',
    'X-Content-Type-Options', 'nosniff',
    // A stored HTML page must not run scripts with this origin's rights.
    'Content-Security-Policy', 'sandbox',
  ];
  if (attachment) headers.push('Content-Disposition', `attachment; filename="${key}"`);
  if (notModified) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  headers.push('Content-Length', String(record.size));
  res.writeHead(200, headers);
  if (stream) sendStream(stream, res);
  else res.end(req.method === 'HEAD' ? undefined : record.body);
}

/** Resolves once the stream has its first bytes (or its end); a missing file becomes a 404. */
function openBody(stream: Readable): Promise<Readable> {
  return new Promise((resolve, reject) => {
    const done = (error?: Error) => {
      stream.off('readable', onReadable);
      stream.off('error', done);
      if (!error) resolve(stream);
      else reject(isGone(error) ? recordNotFound() : error);
    };
    const onReadable = () => done();
    stream.on('readable', onReadable);
    stream.on('error', done);
  });
}

function isGone(error: Error): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP';
}

/**
 * Copies with backpressure: each chunk the stream has is written until the socket wants a
 * `drain`. A plain loop, because `pipeline()` makes an AbortController per call and `pipe()`
 * cost about a quarter more CPU per 1 MiB record in the server bench.
 * A read error mid-body cuts the response: the client sees a broken transfer, never a short 200.
 */
function sendStream(stream: Readable, res: ServerResponse): void {
  stream.on('error', () => res.destroy());
  res.on('close', () => stream.destroy());
  let waiting = false;
  const pump = () => {
    if (waiting || res.destroyed) return;
    for (let chunk = stream.read() as Buffer | null; chunk !== null; chunk = stream.read() as Buffer | null) {
      if (!res.write(chunk)) {
        waiting = true;
        res.once('drain', () => {
          waiting = false;
          pump();
        });
        return;
      }
    }
  };
  stream.on('readable', pump);
  stream.once('end', () => {
    if (!res.destroyed) res.end();
  });
  pump();
}

function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  const bare = (tag: string) => tag.trim().replace(/^W\//, '');
  return header.split(',').some((tag) => bare(tag) === bare(etag));
}

export async function putRecord(ctx: AppContext, state: RequestState, ref: string | undefined, key: string | undefined): Promise<void> {
  assertValidKey(key);
  requireUser(state.principal);
  const encoding = bodyEncoding(state.req);
  const contentType = recordContentType(state);
  const length = declaredLength(state.req);
  // An uncompressed body that declares too many bytes is refused before reading any of it.
  if (encoding === 'identity' && length !== undefined && length > ctx.maxPayloadBytes) {
    throw payloadTooLarge(state.req.method ?? 'PUT', ctx.maxPayloadBytes, length);
  }
  const store = await resolveStore(ctx, state, ref, 'write');
  await writeBody(ctx, state, store, key, contentType, ctx.maxPayloadBytes);
}

export async function deleteRecord(ctx: AppContext, state: RequestState, ref: string | undefined, key: string | undefined): Promise<void> {
  assertValidKey(key);
  const conditions = requestConditions(state.req);
  const store = await resolveStore(ctx, state, ref, 'write');
  // Deleting a missing record is not an error: the end state is what was asked for (unless
  // `If-Match` asked for a record to be there: then 412).
  await ctx.storage.deleteRecord(store.id, key, { conditions });
  sendNoContent(state.res);
}

type DirectUploadPresigner = (storeId: string, key: string, options: { expiresInSeconds: number }) => Promise<{ url: string }>;

/**
 * The URL for one direct upload. A storage that can hand out its own upload URLs (S3: a
 * presigned PUT straight to the bucket) does, unless the caller asks for this server's own
 * route with `?via=server`: the storage browser does, as its page may connect to its own origin
 * only (and a bucket would need CORS for it). That route streams the body into the storage.
 */
export async function getDirectUploadUrl(ctx: AppContext, state: RequestState, ref: string | undefined, key: string | undefined): Promise<void> {
  assertValidKey(key);
  const via = queryValue(state.query, 'via');
  if (via !== undefined && via !== 'server') throw invalidInput('The "via" parameter takes one value: "server" (an upload URL on this server).');
  const store = await resolveStore(ctx, state, ref, 'write');
  const backend = (ctx.storage as { backend?: { directUploadUrl?: DirectUploadPresigner } }).backend;
  if (backend?.directUploadUrl && via === undefined) {
    const seconds = Math.max(1, Math.floor(ctx.directUploadTtlMillis / 1000));
    const { url } = await backend.directUploadUrl(store.id, key, { expiresInSeconds: seconds });
    sendData(state.res, 200, { signedUrl: url });
    return;
  }
  const expires = ctx.now() + ctx.directUploadTtlMillis;
  const signature = ctx.signer.directUploadSignature(store.id, key, expires);
  const signedUrl = `${recordUrl(baseUrl(ctx, state.req), store.id, key)}/direct-upload?expires=${expires}&signature=${signature}`;
  sendData(state.res, 200, { signedUrl });
}

/**
 * The PUT to a signed URL: the signature replaces the token, and the limit is the server's
 * `maxDirectUploadBytes` instead of the payload limit. A URL is valid until its `expires`,
 * which may not lie further ahead than the server's URL lifetime.
 */
export async function directUpload(ctx: AppContext, state: RequestState, ref: string | undefined, key: string | undefined): Promise<void> {
  assertValidKey(key);
  assertValidStoreRef(ref);
  const now = ctx.now();
  const expires = queryValue(state.query, 'expires');
  const verdict = ctx.signer.verifyDirectUpload(ref, key, expires, queryValue(state.query, 'signature'), now);
  if (verdict === 'invalid' || Number(expires) > now + ctx.directUploadTtlMillis) {
    throw new ApiError(403, 'invalid-signature', 'The upload URL signature is not valid.');
  }
  if (verdict === 'expired') throw new ApiError(403, 'invalid-signature', 'The upload URL has expired; request a new one.');
  const encoding = bodyEncoding(state.req);
  const contentType = recordContentType(state);
  const length = declaredLength(state.req);
  if (encoding === 'identity' && length !== undefined && length > ctx.maxDirectUploadBytes) {
    throw directUploadTooLarge(ctx.maxDirectUploadBytes, length);
  }
  const store = await ctx.storage.getStore(ref);
  if (!store || store.id !== ref) throw storeNotFound();
  await writeBody(ctx, state, store, key, contentType, ctx.maxDirectUploadBytes, true);
}

/** The Content-Type to store: exactly as sent; none means raw bytes. */
function recordContentType(state: RequestState): string {
  const header = state.req.headers['content-type'];
  if (header === undefined || header.trim() === '') return 'application/octet-stream';
  if (header.length > MAX_CONTENT_TYPE_LENGTH) throw invalidInput('The Content-Type header is too long.');
  return header;
}

/** Streams the decoded body into storage; 201 when it is durable. */
async function writeBody(
  ctx: AppContext,
  state: RequestState,
  store: StoreInfo,
  key: string,
  contentType: string,
  maxBytes: number,
  direct = false,
): Promise<void> {
  const { req, res } = state;
  const encoding = bodyEncoding(req);
  const md5 = expectedMd5(req);
  const conditions = requestConditions(req);
  allowBody(ctx, state);
  const body = decodeBody(req, encoding, maxBytes);
  // A storage that hashes each body for its ETag checks the digest with that same MD5, sparing the
  // body a second pass here; an encoded body may carry the digest of its encoded bytes, which only
  // the pass here sees.
  const storageChecks = md5 !== undefined && encoding === 'identity' && ctx.storage.checksMd5 === true;
  const checked = md5 && !storageChecks ? checkMd5(body.stream, md5, encoding === 'identity' ? undefined : req) : undefined;
  let info;
  try {
    info = await ctx.storage.putRecord(store.id, key, checked ? checked.stream : body.stream, {
      contentType,
      maxBytes,
      conditions,
      md5: storageChecks ? md5 : undefined,
    });
  } catch (err) {
    const failure = body.failure();
    body.dispose();
    if (failure === 'aborted') throw new ClientGone();
    if (checked?.mismatched() || isStorageIntegrityMismatch(err)) throw integrityMismatch();
    if (failure === 'too-large' || isPayloadTooLarge(err)) {
      throw direct ? directUploadTooLarge(maxBytes) : payloadTooLarge(req.method ?? 'PUT', maxBytes);
    }
    if (failure === 'corrupt') throw corruptBody(encoding);
    throw err;
  }
  if (cannotRespond(res)) return;
  sendJson(res, 201, {}, { Location: recordUrl(baseUrl(ctx, req), store.id, key), ETag: info.etag });
}

/** The client went away mid-request: there is nobody to answer. */
export class ClientGone extends Error {
  override readonly name = 'ClientGone';
}
