/** The stores list: a table of stores with their records and size, and a form to create one. */
import { COUNT_LIMIT, type StoreData } from './api.js';
import { action, rememberStoreName, storeLabel, type App } from './app.js';
import { clear, focus, formatBytes, h, time } from './dom.js';
import { hrefOf } from './router.js';
import { STORE_NAME_PATTERN } from '../rules.js';

/** How many stores count their records at once. */
const COUNTING_CONCURRENCY = 4;

let generation = 0;

export async function renderStoresPage(app: App, main: HTMLElement, unnamed: boolean, moveFocus: boolean): Promise<void> {
  const mine = ++generation;
  clear(main);
  const title = h('h1', { id: 'stores-title' }, 'Key-value stores');
  const include = h('input', {
    type: 'checkbox',
    id: 'include-unnamed',
    checked: unnamed,
    onchange: () => app.navigate({ view: 'stores', unnamed: include.checked }, { replace: true }),
  });
  const summary = h('p', { class: 'muted', id: 'stores-summary' }, 'Loading…');
  const body = h('tbody', { id: 'store-rows' });
  const table = h(
    'table',
    { 'aria-labelledby': 'stores-title' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', { scope: 'col' }, 'Name'),
        h('th', { scope: 'col', class: 'num' }, 'Records'),
        h('th', { scope: 'col', class: 'num' }, 'Size'),
        h('th', { scope: 'col' }, 'Created'),
        h('th', { scope: 'col' }, 'Modified'),
      ),
    ),
    body,
  );
  const nameInput = h('input', {
    id: 'new-store',
    name: 'name',
    placeholder: 'my-store',
    maxlength: 63,
    spellcheck: 'false',
    autocomplete: 'off',
    'aria-describedby': 'new-store-help',
  });
  const createButton = h('button', { type: 'submit', class: 'primary' }, 'Create store');
  const form = h(
    'form',
    { id: 'create-form', class: 'panel', 'aria-labelledby': 'create-title' },
    h('h2', { id: 'create-title' }, 'New store'),
    h('p', { class: 'row' }, h('label', { for: 'new-store' }, 'Name'), nameInput, createButton),
    h(
      'p',
      { id: 'new-store-help', class: 'muted' },
      'Letters, digits and hyphens (up to 63). A named store is kept until you delete it; leave the name empty for an unnamed store, which expires 7 days after its last use.',
    ),
  );
  form.addEventListener(
    'submit',
    action(app, createButton, async () => {
      const name = nameInput.value.trim();
      if (name && !STORE_NAME_PATTERN.test(name)) {
        throw new Error('A store name is 1-63 letters, digits and hyphens, not starting or ending with a hyphen.');
      }
      const { store, created } = await app.api.createStore(name || null);
      if (!created) {
        app.fail(new Error(`A store named "${name}" already exists: choose another name, or open it from the list.`));
        focus(nameInput);
        return;
      }
      app.navigate({ view: 'store', storeId: store.id, tab: 'records' });
      app.say(store.name ? `Created the store "${store.name}".` : `Created an unnamed store (ID ${store.id}). It expires 7 days after its last use unless you name it.`);
    }),
  );

  main.append(
    h(
      'section',
      { class: 'panel', 'aria-labelledby': 'stores-title' },
      h('div', { class: 'head' }, title, h('label', { class: 'check' }, include, 'Include unnamed key-value stores')),
      table,
      summary,
    ),
    // A visitor without a token on a server that wants one could not create a store.
    ...(app.server.wantsToken && !app.api.token ? [] : [form]),
  );
  if (moveFocus) focus(title);

  let stores: StoreData[];
  try {
    ({ items: stores } = await app.api.listStores(unnamed));
  } catch (err) {
    if (mine === generation) {
      summary.textContent = 'The stores could not be listed.';
      app.fail(err);
    }
    return;
  }
  if (mine !== generation) return;
  // Named stores by name, then unnamed ones in the server's order (oldest first).
  stores.sort((a, b) => (a.name && b.name ? (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) : a.name ? -1 : b.name ? 1 : 0));
  const counts = new Map<string, HTMLTableCellElement>();
  for (const store of stores) {
    rememberStoreName(store);
    const count = h('td', { class: 'num', 'data-label': 'Records', 'aria-busy': 'true' }, '…');
    counts.set(store.id, count);
    body.append(
      h(
        'tr',
        { 'data-store-id': store.id },
        h(
          'td',
          { 'data-label': 'Name' },
          h('span', {}, h('a', { class: 'item', href: hrefOf({ view: 'store', storeId: store.id, tab: 'records' }) }, storeLabel(store)), store.name ? null : h('span', { class: 'sub' }, store.id)),
        ),
        count,
        h('td', { class: 'num', 'data-label': 'Size' }, formatBytes(store.stats.storageBytes)),
        h('td', { 'data-label': 'Created' }, time(store.createdAt)),
        h('td', { 'data-label': 'Modified' }, time(store.modifiedAt)),
      ),
    );
  }
  summary.textContent =
    stores.length === 0
      ? unnamed
        ? 'No stores yet.'
        : 'No named stores yet.'
      : `${stores.length} ${stores.length === 1 ? 'store' : 'stores'}${unnamed ? '' : ' (named only)'}.`;
  await fillCounts(app, stores, counts, () => mine === generation);
}

/** Fills in each store's records count, a few stores at a time. */
async function fillCounts(app: App, stores: StoreData[], cells: Map<string, HTMLTableCellElement>, current: () => boolean): Promise<void> {
  const queue = stores.slice();
  const worker = async () => {
    for (let store = queue.shift(); store && current(); store = queue.shift()) {
      const cell = cells.get(store.id)!;
      try {
        const { count, exact } = await app.api.countRecords(store.id);
        cell.textContent = exact ? count.toLocaleString() : `${COUNT_LIMIT.toLocaleString()}+`;
      } catch {
        cell.textContent = '?';
      }
      cell.removeAttribute('aria-busy');
    }
  };
  await Promise.all(Array.from({ length: COUNTING_CONCURRENCY }, worker));
}
