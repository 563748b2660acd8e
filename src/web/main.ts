/**
 * The storage browser: browse and manage the server's key-value stores. The entry point wires
 * the token form, the message region and the hash router to the views.
 */
import { Api } from './api.js';
import { capitalized, describeError, isStoreMissing, type App } from './app.js';
import { byId, focus, h, clear } from './dom.js';
import { hrefOf, parseHash, type Route } from './router.js';
import { learnServerFacts, mayNeedToken, type ServerFacts } from './server-facts.js';
import { StorePage } from './store-page.js';
import { renderStoresPage } from './stores-page.js';

const TOKEN_KEY = 'apify-kv-browser.token';
const STATUS_MILLIS = 15_000;

function readToken(): string {
  try {
    return sessionStorage.getItem(TOKEN_KEY) ?? '';
  } catch {
    return '';
  }
}

function writeToken(token: string): void {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // Storage disabled: the token lives only in this page.
  }
}

async function start(): Promise<void> {
  const main = byId('main');
  const errorBox = byId('error');
  const statusBox = byId('status');
  let storePage: StorePage | null = null;
  let routeCount = 0;
  /** The address `app.navigate` went to, until its route is shown: the page's own moves keep their messages. */
  let ownNavigation: string | null = null;
  let statusTimer: ReturnType<typeof setTimeout> | undefined;

  const server: ServerFacts = await learnServerFacts();
  const app: App = {
    api: new Api(readToken()),
    server,
    navigate(route, options = {}) {
      const href = hrefOf(route);
      ownNavigation = href;
      if (options.replace) {
        history.replaceState(null, '', href);
        showRoute();
      } else if (location.hash === href) {
        showRoute();
      } else {
        location.hash = href;
      }
    },
    say(message) {
      errorBox.textContent = '';
      statusBox.textContent = message;
      // A status fades after a while, so it does not cover the page; errors stay until the next action.
      clearTimeout(statusTimer);
      statusTimer = setTimeout(() => {
        if (statusBox.textContent === message) statusBox.textContent = '';
      }, STATUS_MILLIS);
    },
    fail(err) {
      // A store deleted elsewhere: one message, and back to the list rather than a stale page.
      if (storePage && isStoreMissing(err) && mayNeedToken(app.server, app.api.token, err)) {
        // Without a token a private store looks missing: keep the address, so the token leads back here.
        statusBox.textContent = '';
        errorBox.textContent = `${capitalized(storePage.phrase)} was not found without a token. This server needs an API token for private stores: enter it at the top and press "Use token".`;
        focus(byId('token'));
        return;
      }
      if (storePage && isStoreMissing(err)) {
        const gone = storePage.phrase;
        storePage.dispose();
        storePage = null;
        app.navigate({ view: 'stores', unnamed: false }, { replace: true });
        statusBox.textContent = '';
        errorBox.textContent = `${capitalized(gone)} no longer exists: it may have been deleted elsewhere.`;
        return;
      }
      statusBox.textContent = '';
      errorBox.textContent = describeError(err);
      if ((err as { type?: string }).type === 'token-not-provided' || (err as { type?: string }).type === 'invalid-token') {
        focus(byId('token'));
      }
    },
    clearMessages() {
      errorBox.textContent = '';
      statusBox.textContent = '';
    },
  };

  function showRoute(): void {
    const route: Route = parseHash(location.hash);
    const first = routeCount++ === 0;
    // A message belongs to the page it was said on: a link, Back or Forward leaves it behind.
    const own = ownNavigation !== null && ownNavigation === location.hash;
    ownNavigation = null;
    if (!first && !own) app.clearMessages();
    if (route.view === 'store') {
      if (!storePage || storePage.storeId !== route.storeId) {
        storePage?.dispose();
        storePage = new StorePage(app, main, route.storeId);
      }
      void storePage.show(route, !first);
      return;
    }
    storePage?.dispose();
    storePage = null;
    if (route.view === 'stores') {
      void renderStoresPage(app, main, route.unnamed, !first);
      return;
    }
    clear(main);
    const title = h('h1', {}, 'Page not found');
    main.append(title, h('p', {}, 'This address names no page. ', h('a', { href: '#/' }, 'Go to the stores.')));
    if (!first) focus(title);
  }

  // The token form: kept in this tab's sessionStorage, sent only as a header.
  const tokenInput = byId<HTMLInputElement>('token');
  tokenInput.value = app.api.token;
  const useToken = (token: string, message: string) => {
    writeToken(token);
    (app as { api: Api }).api = new Api(token);
    storePage?.dispose();
    storePage = null;
    showRoute();
    app.say(message);
  };
  byId('token-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const token = tokenInput.value.trim();
    useToken(token, token ? 'Using the token.' : 'Using no token.');
  });
  byId('token-forget').addEventListener('click', () => {
    tokenInput.value = '';
    useToken('', 'The token is forgotten.');
  });

  // Skip links move focus without touching the address (which holds the route).
  document.addEventListener('click', (event) => {
    const link = (event.target as Element).closest?.('a[data-focus]');
    if (!link) return;
    event.preventDefault();
    focus(document.getElementById(link.getAttribute('data-focus')!));
  });

  window.addEventListener('hashchange', showRoute);
  showRoute();
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', () => void start());
else void start();
