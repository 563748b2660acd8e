/**
 * Who is calling, and what they may do with a store.
 *
 * No users configured: single-user local mode, every request acts as `LOCAL_USER`.
 * Users configured: a token picks the user; no token means anonymous, which may only
 * read stores whose `generalAccess` allows it. Tokens are compared as SHA-256 digests
 * with `timingSafeEqual`, against every user, and are never logged or echoed.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { LOCAL_USER, type StorageUser, type StoreInfo } from '../storage/types.js';
import { insufficientPermissions, invalidToken, storeNotFound, tokenNotProvided } from './errors.js';

export interface ServerUser {
  id: string;
  username: string;
  token: string;
}

export interface Principal {
  /** `null` for an anonymous caller. */
  user: StorageUser | null;
  /** Single-user mode: no checks at all. */
  local: boolean;
}

export type AccessMode = 'read' | 'write';

const USERNAME_PATTERN = /^[a-zA-Z0-9._-]{1,100}$/;

/** Every request of single-user mode acts as this one (shared: principals are never changed). */
const LOCAL_PRINCIPAL: Principal = Object.freeze({ user: LOCAL_USER, local: true });

const digest = (token: string) => createHash('sha256').update(token, 'utf8').digest();

export class Authenticator {
  private readonly entries: Array<{ user: StorageUser; hash: Buffer }>;

  constructor(users: readonly ServerUser[]) {
    this.entries = users.map((u) => ({ user: { id: u.id, username: u.username }, hash: digest(u.token) }));
  }

  /** True when requests must carry a token (except anonymous reads that a store allows). */
  get enabled(): boolean {
    return this.entries.length > 0;
  }

  /** Throws 401 `invalid-token` for a token that matches no user. */
  authenticate(req: IncomingMessage, query: URLSearchParams): Principal {
    if (!this.enabled) return LOCAL_PRINCIPAL;
    const token = presentedToken(req, query);
    if (token === undefined) return { user: null, local: false };
    const hash = digest(token);
    let found: StorageUser | null = null;
    // Compare against every user, without stopping early, so timing tells nothing.
    for (const entry of this.entries) {
      if (timingSafeEqual(entry.hash, hash) && !found) found = entry.user;
    }
    if (!found) throw invalidToken();
    return { user: found, local: false };
  }
}

/** `Authorization: Bearer T` first, then `?token=T`. Empty counts as absent. */
function presentedToken(req: IncomingMessage, query: URLSearchParams): string | undefined {
  const header = req.headers.authorization;
  if (typeof header === 'string' && header.trim() !== '') {
    const match = /^Bearer\s+(.+)$/i.exec(header.trim());
    if (!match) throw invalidToken();
    return match[1]!.trim();
  }
  const fromQuery = query.get('token');
  return fromQuery ? fromQuery : undefined;
}

/** Throws unless an anonymous caller is allowed at all (store-independent operations). */
export function requireUser(principal: Principal): StorageUser {
  if (!principal.user) throw tokenNotProvided();
  return principal.user;
}

/**
 * Checks access to an existing store. `ref` is how the caller named it: the public-read
 * levels differ in whether a name (`username~name`) is enough or the id is needed.
 * `signed` is true when the request carries a valid signature made with the store's key.
 */
export function checkStoreAccess(
  principal: Principal,
  store: StoreInfo,
  ref: string,
  mode: AccessMode,
  signed = false,
): void {
  if (principal.local) return;
  if (principal.user && principal.user.id === store.userId) return;
  if (mode === 'read' && (signed || isPubliclyReadable(store, ref))) return;
  // An anonymous caller must not learn that a private store exists: same answer as a missing one.
  if (!principal.user) throw storeNotFound();
  throw insufficientPermissions();
}

/** True when the caller may see the store's signing key (owner or single-user mode). */
export function canWrite(principal: Principal, store: StoreInfo): boolean {
  return principal.local || (!!principal.user && principal.user.id === store.userId);
}

function isPubliclyReadable(store: StoreInfo, ref: string): boolean {
  const byId = ref === store.id;
  if (store.generalAccess === 'ANYONE_WITH_ID_CAN_READ') return byId;
  if (store.generalAccess === 'ANYONE_WITH_NAME_CAN_READ') return byId || (ref.includes('~') && !ref.startsWith('~'));
  return false;
}

/**
 * The configured users: `token` alone is the local user with that token; `users` and a
 * users file (JSON: an array of `{ id, username, token }` or `{ "users": [...] }`) add more.
 */
export function loadUsers(options: { token?: string; users?: readonly ServerUser[]; usersFile?: string }): ServerUser[] {
  const users: ServerUser[] = [];
  if (options.token !== undefined) {
    if (typeof options.token !== 'string' || options.token === '') throw new Error('The token must be a non-empty string.');
    users.push({ ...LOCAL_USER, token: options.token });
  }
  if (options.users) users.push(...options.users);
  if (options.usersFile) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(options.usersFile, 'utf8'));
    } catch (err) {
      throw new Error(`Cannot read the users file ${options.usersFile}: ${(err as Error).message}`);
    }
    const list = Array.isArray(parsed) ? parsed : (parsed as { users?: unknown })?.users;
    if (!Array.isArray(list)) throw new Error(`The users file ${options.usersFile} must hold an array of users.`);
    users.push(...(list as ServerUser[]));
  }
  const ids = new Set<string>();
  const usernames = new Set<string>();
  const tokens = new Set<string>();
  for (const [i, u] of users.entries()) {
    const ok =
      u && typeof u.id === 'string' && u.id !== '' &&
      typeof u.username === 'string' && USERNAME_PATTERN.test(u.username) &&
      typeof u.token === 'string' && u.token !== '';
    // Never print the user object itself: it holds the token.
    if (!ok) throw new Error(`User #${i + 1} needs a non-empty id, a username of a-z, A-Z, 0-9, ".", "_", "-", and a non-empty token.`);
    if (ids.has(u.id)) throw new Error(`User id "${u.id}" is configured twice.`);
    // Usernames name stores (`username~store`), so two users with one name would share them.
    if (usernames.has(u.username.toLowerCase())) throw new Error(`Username "${u.username}" is configured twice.`);
    if (tokens.has(u.token)) throw new Error(`Two users share one token (user "${u.id}").`);
    ids.add(u.id);
    usernames.add(u.username.toLowerCase());
    tokens.add(u.token);
  }
  return users;
}
