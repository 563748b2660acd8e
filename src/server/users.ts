/**
 * `GET /v2/users/me` and `/v2/users/{id}`: what the Apify CLI (`apify login`) and the Apify SDK ask
 * about the token's user before they touch a store. Only the token's own user is known here.
 */
import type { AppContext, RequestState } from './context.js';
import { ApiError, methodNotAllowed, tokenNotProvided } from './errors.js';
import { sendData } from './responses.js';

const USERS_PATH = /^\/v2\/users\/([^/]+)\/?$/;

/** The user id or `me` a path asks for; undefined when the path is not a user's. */
export function matchUserPath(path: string): string | undefined {
  const match = USERS_PATH.exec(path);
  if (!match) return undefined;
  try {
    return decodeURIComponent(match[1]!);
  } catch {
    return '';
  }
}

const userNotFound = () => new ApiError(404, 'record-not-found', 'User was not found.');

/** Answers a user request: the token's user (as `me`, by id or by username), 401 without a valid token. */
export function answerUser(ctx: AppContext, state: RequestState, ref: string, method: string): void {
  if (method !== 'GET' && method !== 'HEAD') throw methodNotAllowed(['GET']);
  const user = state.principal.user;
  // An anonymous caller of a server with tokens has no "me".
  if (!user) throw ctx.auth.enabled ? tokenNotProvided() : userNotFound();
  if (ref !== 'me' && ref !== user.id && ref !== user.username) throw userNotFound();
  sendData(state.res, 200, {
    id: user.id,
    username: user.username,
    profile: {},
    // The platform's private fields, empty here: no proxy, no plan, no limits to report.
    email: null,
    proxy: { password: null, groups: [] },
    plan: null,
    isPaying: false,
    createdAt: new Date(0).toISOString(),
  });
}
