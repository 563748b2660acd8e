/** The request handler: who may call, CORS, routing, method checks, and turning every failure into a contract error. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CONDITIONAL_WRITES_FEATURE, FEATURES_HEADER } from '../rules.js';
import type { AppContext, RequestState } from './context.js';
import { ApiError, fromStorageError, internalError, methodNotAllowed, pageNotFound, tokenNotProvided } from './errors.js';
import { answerHealth } from './health.js';
import { ClientGone, deleteRecord, directUpload, downloadRecords, getDirectUploadUrl, getRecord, listKeys, putRecord } from './record-handlers.js';
import { cannotRespond, rejectBody, sendError } from './responses.js';
import { answerPreflight } from './origins.js';
import { parseTarget, ROUTE_METHODS, splitTarget, type Route } from './routes.js';
import { deleteStore, getOrCreateStore, getStore, listStores, updateStore } from './store-handlers.js';
import { METRICS_PATH, observeRequests, requestIdOf } from './request-log.js';
import { answerUser, matchUserPath } from './users.js';
import { findWebFile, sendWebFile } from './web.js';

/** After answering early, at most this much of an unread body is read and dropped before the connection is cut. */
const MAX_DISCARD_BYTES = 64 * 1024 * 1024;

/** Reads answered with all their headers in one `writeHead` call. */
const HOT_READS: ReadonlySet<Route['kind']> = new Set(['record', 'keys', 'store']);

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** The handler over a ready context; `createRequestHandler` in server.ts builds one from options. */
export function createHandler(ctx: AppContext): RequestHandler {
  const handler: RequestHandler = (req, res) => {
    handle(ctx, req, res).catch((err: unknown) => answerFailure(ctx, req, res, err));
  };
  return ctx.requestLog || ctx.metrics ? observeRequests(handler, ctx.requestLog, ctx.metrics) : handler;
}

async function handle(ctx: AppContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  // Probes come first: whatever the Host or Origin, they need no token and reveal nothing.
  if (req.url?.startsWith('/health/') && (await answerHealth(ctx.health, req, res, splitTarget(req.url).path))) return;
  ctx.origins.check(req);
  const method = (req.method ?? 'GET').toUpperCase();
  const { route, query } = parseTarget(req.url ?? '/');
  // The platform counts every API request against its resource, before anything else.
  if (route && ctx.rateLimiter && method !== 'OPTIONS') ctx.rateLimiter.take(route.storeRef ?? '');
  if (route && !route.segmentError && (method === 'GET' || method === 'HEAD') && HOT_READS.has(route.kind)) {
    // The hot reads send their CORS headers in their one writeHead call; a failure gets them here.
    try {
      const state: RequestState = { req, res, query, principal: ctx.auth.authenticate(req, query) };
      if (route.kind === 'record') await getRecord(ctx, state, route.storeRef, route.key);
      else if (route.kind === 'keys') await listKeys(ctx, state, route.storeRef);
      else await getStore(ctx, state, route.storeRef);
    } catch (err) {
      if (!cannotRespond(res)) {
        ctx.origins.applyHeaders(req, res);
        res.setHeader(FEATURES_HEADER, CONDITIONAL_WRITES_FEATURE);
      }
      throw err;
    }
    return;
  }
  ctx.origins.applyHeaders(req, res);
  if (method === 'OPTIONS') {
    answerPreflight(req, res);
    return;
  }
  if (!route) {
    const path = splitTarget(req.url ?? '/').path;
    if (ctx.metrics && path === METRICS_PATH) {
      if (method !== 'GET' && method !== 'HEAD') throw methodNotAllowed(['GET']);
      // A server with tokens shows its metrics only to a caller with one.
      if (ctx.auth.enabled && !ctx.auth.authenticate(req, query).user) throw tokenNotProvided();
      await ctx.metrics.send(res, method === 'HEAD');
      return;
    }
    const userRef = matchUserPath(path);
    if (userRef !== undefined) {
      answerUser(ctx, { req, res, query, principal: ctx.auth.authenticate(req, query) }, userRef, method);
      return;
    }
    // Outside /v2: the storage browser's static files, which need no token.
    const file = findWebFile(path);
    if (!file) throw pageNotFound();
    if (method !== 'GET' && method !== 'HEAD') throw methodNotAllowed(['GET']);
    await sendWebFile(res, file, method === 'HEAD');
    return;
  }
  res.setHeader(FEATURES_HEADER, CONDITIONAL_WRITES_FEATURE);
  const allowed = ROUTE_METHODS[route.kind];
  if (!allowed.includes(method)) throw methodNotAllowed(allowed.filter((m) => m !== 'HEAD'));
  if (route.segmentError) throw route.segmentError;

  const principal = ctx.auth.authenticate(req, query);
  const state: RequestState = { req, res, query, principal };
  await dispatch(ctx, state, route, method);
}

function dispatch(ctx: AppContext, state: RequestState, route: Route, method: string): Promise<void> {
  const { storeRef: ref, key } = route;
  const read = method === 'GET' || method === 'HEAD';
  switch (route.kind) {
    case 'stores':
      return read ? listStores(ctx, state) : getOrCreateStore(ctx, state);
    case 'store':
      if (read) return getStore(ctx, state, ref);
      return method === 'PUT' ? updateStore(ctx, state, ref) : deleteStore(ctx, state, ref);
    case 'keys':
      return listKeys(ctx, state, ref);
    case 'records':
      return downloadRecords(ctx, state, ref);
    case 'record':
      if (read) return getRecord(ctx, state, ref, key);
      return method === 'DELETE' ? deleteRecord(ctx, state, ref, key) : putRecord(ctx, state, ref, key);
    case 'direct-upload-url':
      return getDirectUploadUrl(ctx, state, ref, key);
    case 'direct-upload':
      return directUpload(ctx, state, ref, key);
  }
}

function answerFailure(ctx: AppContext, req: IncomingMessage, res: ServerResponse, err: unknown): void {
  if (err instanceof ClientGone) return;
  let apiError = err instanceof ApiError ? err : fromStorageError(err);
  if (!apiError) {
    // Log the failure itself, never the request (its URL may carry a token).
    const id = requestIdOf(req);
    ctx.logger.error(`Request ${id ? `${id} ` : ''}failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    apiError = internalError();
  }
  if (cannotRespond(res)) {
    // A streamed response already started: cutting it is the only signal left.
    if (!res.writableEnded) res.destroy();
    return;
  }
  if (!req.complete) rejectBody(req, res, apiError, MAX_DISCARD_BYTES);
  else sendError(res, apiError);
}
