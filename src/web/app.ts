/** What every view of the page gets: the API, navigation and the message region. */
import { ApiProblem, type Api } from './api.js';
import type { Route } from './router.js';
import type { ServerFacts } from './server-facts.js';

export interface App {
  readonly api: Api;
  /** What the page learned about the server (whether it wants tokens). */
  readonly server: ServerFacts;
  /** Goes to a route (a new history entry unless `replace`). */
  navigate(route: Route, options?: { replace?: boolean }): void;
  /** A status message, read out politely. */
  say(message: string): void;
  /** Shows what went wrong, in words a person can act on. */
  fail(err: unknown): void;
  clearMessages(): void;
}

/** A store's label: its name, or "unnamed" for a store without one. */
export function storeLabel(store: { name: string | null }): string {
  return store.name ?? 'unnamed';
}

/** Store names the page has seen (from the list or a store page), so a message about a store that is gone can name it. */
const knownNames = new Map<string, string | null>();

export function rememberStoreName(store: { id: string; name: string | null }): void {
  knownNames.set(store.id, store.name);
}

/**
 * A store as a sentence names it: `the store "name"`, `the unnamed store {id}`, or by its id
 * when the page never saw its name.
 */
export function storePhrase(storeId: string, store?: { name: string | null } | null): string {
  const name = store ? store.name : knownNames.get(storeId);
  if (name === undefined) return `the store "${storeId}"`;
  return name === null ? `the unnamed store ${storeId}` : `the store "${name}"`;
}

/** The sentence's first letter in capitals. */
export function capitalized(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** The caller may change the store: the server hands its signing key to exactly those callers. */
export function canChange(store: { urlSigningSecretKey?: string | null } | null): boolean {
  return !!store?.urlSigningSecretKey;
}

/** The store a 404 from a store-level call talks about no longer exists (or was never there). */
export function isStoreMissing(err: unknown): boolean {
  return err instanceof ApiProblem && err.status === 404 && err.type !== 'record-not-found';
}

/** A sentence for an error, pointing at the fix where there is one. */
export function describeError(err: unknown): string {
  if (err instanceof ApiProblem) {
    if (err.type === 'token-not-provided') return 'This server needs an API token: enter it at the top and press "Use token".';
    if (err.type === 'invalid-token') return 'The server refused this API token: check it and press "Use token" again.';
    if (err.type === 'insufficient-permissions') return `This token may not do that: ${err.message}`;
    if (err.type === 'network-error') return err.message;
    return `${err.message} (${err.type}, HTTP ${err.status})`;
  }
  return err instanceof Error ? err.message : String(err);
}

/**
 * Wraps an event handler: clears old messages, keeps `button` disabled while it runs, shows a
 * failure instead of throwing, and gives focus back to `button` afterwards (disabling a focused
 * button drops focus to the page's body).
 */
export function action<E extends Event>(app: App, button: HTMLButtonElement | null, run: (event: E) => Promise<void> | void) {
  return async (event: E): Promise<void> => {
    if (event.type === 'submit') event.preventDefault();
    app.clearMessages();
    const hadFocus = button !== null && document.activeElement === button;
    if (button) button.disabled = true;
    try {
      await run(event);
    } catch (err) {
      app.fail(err);
    } finally {
      if (button) button.disabled = false;
      // Only where focus fell to the body: an action that moved it on purpose keeps its choice.
      const dropped = document.activeElement === null || document.activeElement === document.body;
      if (button && hadFocus && dropped && button.isConnected) button.focus();
    }
  };
}
