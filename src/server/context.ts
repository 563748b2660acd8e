/** What every handler needs: the storage, auth, limits, and a few shared helpers. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KeyValueStorage, StoreInfo } from '../storage/types.js';
import { checkStoreAccess, type AccessMode, type Authenticator, type Principal } from './auth.js';
import { storeNotFound, tokenNotProvided } from './errors.js';
import type { Logger } from 'pino';
import type { Health } from './health.js';
import type { ServerMetrics } from './metrics.js';
import type { OriginPolicy } from './origins.js';
import type { RateLimiter } from './rate-limit.js';
import type { UrlSigner } from './signing.js';
import { assertValidStoreRef } from './validation.js';
import type { ViewContext } from './views.js';

export interface ServerLogger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface AppContext {
  storage: KeyValueStorage;
  auth: Authenticator;
  /** Which web pages may call, and the CORS headers that say so. */
  origins: OriginPolicy;
  signer: UrlSigner;
  maxPayloadBytes: number;
  /** Largest body a direct upload takes (after decoding). */
  maxDirectUploadBytes: number;
  /** How long a direct upload URL stays valid. */
  directUploadTtlMillis: number;
  now: () => number;
  logger: ServerLogger;
  /** Base of the URLs we hand out; by default taken from the request's Host header. */
  publicBaseUrl?: string;
  /** Used when the Host header is missing or odd. */
  defaultBaseUrl: () => string;
  /** Requests that sent `Expect: 100-continue` and still wait for the go-ahead. */
  awaitingContinue: WeakSet<IncomingMessage>;
  /** The simulated platform rate limit, when the server has one. */
  rateLimiter?: RateLimiter;
  /** The readiness probe's state. */
  health: Health;
  /** Set when `/metrics` is on. */
  metrics?: ServerMetrics;
  /** Set when requests are logged. */
  requestLog?: Logger;
}

/** The per-request state handlers share. */
export interface RequestState {
  req: IncomingMessage;
  res: ServerResponse;
  query: URLSearchParams;
  principal: Principal;
}

const HOST_PATTERN = /^(\[[0-9a-fA-F:.]+\]|[a-zA-Z0-9.-]+)(:\d{1,5})?$/;

export function baseUrl(ctx: AppContext, req: IncomingMessage): string {
  if (ctx.publicBaseUrl) return ctx.publicBaseUrl.replace(/\/+$/, '');
  const host = req.headers.host;
  return host && HOST_PATTERN.test(host) ? `http://${host}` : ctx.defaultBaseUrl();
}

export function viewContext(ctx: AppContext, state: RequestState, canWrite: boolean): ViewContext {
  return { base: baseUrl(ctx, state.req), signer: ctx.signer, canWrite };
}

/**
 * Finds the store a request names and checks the caller may use it that way.
 * `signed`: the request carries a valid public-URL signature for it (reads only).
 */
export async function resolveStore(
  ctx: AppContext,
  state: RequestState,
  ref: string | undefined,
  mode: AccessMode,
  signed: (store: StoreInfo) => boolean = () => false,
): Promise<StoreInfo> {
  assertValidStoreRef(ref);
  const { principal } = state;
  if (mode === 'write' && !principal.user) throw tokenNotProvided();
  const store = await ctx.storage.getStore(ref, principal.user ?? undefined);
  if (!store) throw storeNotFound();
  checkStoreAccess(principal, store, ref, mode, mode === 'read' && signed(store));
  return store;
}

/** Sends the interim `100 Continue` if the client asked for it; call right before reading a body. */
export function allowBody(ctx: AppContext, state: RequestState): void {
  if (ctx.awaitingContinue.has(state.req)) {
    ctx.awaitingContinue.delete(state.req);
    state.res.writeContinue();
  }
}
