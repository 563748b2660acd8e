/**
 * What the page learns about the server it talks to: whether it wants API tokens at all. The
 * server answers `GET /v2/users/me` without a token only in its single-user mode (no tokens
 * configured, every caller acts as the one local user); a server with tokens answers 401.
 */
import { ApiProblem } from './api.js';

export interface ServerFacts {
  /** True when the server checks tokens; null when the page could not tell (network trouble). */
  wantsToken: boolean | null;
}

/** Asks once, without the page's token (with it, both kinds of server would answer 200). */
export async function learnServerFacts(): Promise<ServerFacts> {
  try {
    const res = await fetch('/v2/users/me', { cache: 'no-store' });
    if (res.ok) return { wantsToken: false };
    if (res.status === 401) return { wantsToken: true };
    return { wantsToken: null };
  } catch {
    return { wantsToken: null };
  }
}

/** A store-level 404 while the page has no token, on a server that wants one: maybe private, not gone. */
export function mayNeedToken(facts: ServerFacts, token: string, err: unknown): boolean {
  return facts.wantsToken === true && !token && err instanceof ApiProblem && err.status === 404;
}
