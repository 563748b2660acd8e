/** A store's page: its name and facts, and the tabs Records, Settings and API. */
import type { StoreData } from './api.js';
import { action, isStoreMissing, rememberStoreName, storeLabel, storePhrase, capitalized, type App } from './app.js';
import { ApiTab } from './api-tab.js';
import { clear, focus, formatBytes, h, time } from './dom.js';
import { RecordsTab } from './records-tab.js';
import { hrefOf, type StoreTab } from './router.js';
import { mayNeedToken } from './server-facts.js';
import { ACCESS_HELP, SettingsTab } from './settings-tab.js';

const TAB_NAMES: Record<StoreTab, string> = { records: 'Records', settings: 'Settings', api: 'API' };

/** A tab's content; `dispose` stops its work when the user leaves it. */
export interface TabView {
  readonly element: HTMLElement;
  dispose(): void;
}

export class StorePage {
  store: StoreData | null = null;
  private readonly title = h('h1', { id: 'store-title' }, 'Store');
  private readonly facts = h('ul', { class: 'facts', id: 'store-facts' });
  private readonly tabLinks = new Map<StoreTab, HTMLAnchorElement>();
  private readonly nav = h('nav', { class: 'tabs', 'aria-label': 'Store sections' });
  private readonly panel = h('div', { id: 'tab-panel' });
  private readonly refreshButton = h('button', { type: 'button', id: 'store-refresh' }, 'Refresh');
  private tab: StoreTab | null = null;
  private view: TabView | null = null;
  private records: RecordsTab | null = null;
  /** The records list's key filter, kept while other tabs show. */
  private prefix = '';
  private recordCount: string = '…';
  private readonly loaded: Promise<boolean>;
  private disposed = false;
  /** The store was found deleted: the page says so and shows nothing else of it. */
  private gone = false;
  /** Counts calls of `show`, so only the latest one draws. */
  private showing = 0;

  constructor(
    private readonly app: App,
    main: HTMLElement,
    readonly storeId: string,
  ) {
    clear(main);
    const nav = this.nav;
    for (const tab of ['records', 'settings', 'api'] as const) {
      const link = h('a', { href: hrefOf({ view: 'store', storeId, tab }), id: `tab-${tab}` }, TAB_NAMES[tab]);
      this.tabLinks.set(tab, link);
      nav.append(link);
    }
    this.refreshButton.addEventListener('click', action(app, this.refreshButton, () => this.reload()));
    main.append(
      h('p', { class: 'crumbs' }, h('a', { href: '#/' }, 'Key-value stores')),
      h('div', { class: 'panel' }, h('header', {}, h('div', { class: 'head' }, this.title, this.refreshButton), this.facts, nav), this.panel),
    );
    this.loaded = this.refresh().then(
      () => true,
      (err) => {
        if (!this.disposed) app.fail(err);
        return false;
      },
    );
  }

  /** The store in a sentence: by name where the page knows it, else by id. */
  get phrase(): string {
    return storePhrase(this.storeId, this.store);
  }

  /** Shows a tab (and, on Records, a record), loading the store first. */
  async show(route: { tab: StoreTab; key?: string; prefix?: string }, moveFocus: boolean): Promise<void> {
    // The latest address wins: a tab clicked while another was still loading is not overdrawn by it.
    const mine = ++this.showing;
    // An address with another filter (typed, reloaded, Back) lists the records again.
    const newPrefix = route.tab === 'records' && route.key === undefined && (route.prefix ?? '') !== this.prefix;
    if (newPrefix) this.setPrefix(route.prefix ?? '');
    const sameTab = this.tab === route.tab && !newPrefix;
    if (!(await this.loaded) || this.disposed || this.gone || mine !== this.showing) return;
    // Another tab shows the store as it is now: it may have changed, or gone, elsewhere.
    if (this.tab !== null && !sameTab) {
      try {
        if (!(await this.refreshOrShowGone()) || mine !== this.showing) return;
      } catch (err) {
        if (mine === this.showing) this.app.fail(err);
        return;
      }
    }
    if (!sameTab || !this.view) {
      this.view?.dispose();
      this.tab = route.tab;
      for (const [tab, link] of this.tabLinks) {
        if (tab === route.tab) link.setAttribute('aria-current', 'page');
        else link.removeAttribute('aria-current');
      }
      this.records = route.tab === 'records' ? new RecordsTab(this.app, this, this.prefix) : null;
      this.view = this.records ?? (route.tab === 'settings' ? new SettingsTab(this.app, this) : new ApiTab(this.app, this));
      clear(this.panel);
      this.panel.append(this.view.element);
      // Focus stays on a clicked tab link; any other arrival focuses the page's heading.
      if (moveFocus && !this.nav.contains(document.activeElement)) focus(this.title);
    }
    if (this.records) await this.records.showRecord(route.key);
  }

  /** The Refresh button: the store's facts and the shown tab (an open record too) read again. */
  private async reload(): Promise<void> {
    if (!(await this.refreshOrShowGone())) return;
    if (this.records) await this.records.reload();
    else if (this.view && this.tab) {
      this.view.dispose();
      this.view = this.tab === 'settings' ? new SettingsTab(this.app, this) : new ApiTab(this.app, this);
      clear(this.panel);
      this.panel.append(this.view.element);
    }
    this.app.say('Refreshed.');
  }

  /** Reads the store again; false when it is gone (the page then says so in place of the tab). */
  private async refreshOrShowGone(): Promise<boolean> {
    try {
      await this.refresh();
      return !this.disposed;
    } catch (err) {
      if (this.disposed) return false;
      if (!isStoreMissing(err) || mayNeedToken(this.app.server, this.app.api.token, err)) throw err;
      this.showGone();
      return false;
    }
  }

  /** The store no longer exists: no tabs or forms for it, a clear word and the way back instead. */
  private showGone(): void {
    this.gone = true;
    this.view?.dispose();
    this.view = null;
    this.records = null;
    this.tab = null;
    this.nav.hidden = true;
    this.refreshButton.hidden = true;
    clear(this.facts);
    const heading = h('h2', { id: 'store-gone-title' }, 'This store no longer exists');
    clear(this.panel);
    this.panel.append(
      h(
        'section',
        { id: 'store-gone', 'aria-labelledby': 'store-gone-title' },
        heading,
        h('p', {}, `${capitalized(this.phrase)} was deleted, perhaps elsewhere.`),
        h('p', {}, h('a', { href: '#/', class: 'button' }, 'Back to the stores')),
      ),
    );
    focus(heading);
  }

  /** Remembers the records filter: the Records tab link and a reload come back to it. */
  setPrefix(prefix: string): void {
    this.prefix = prefix;
    this.tabLinks.get('records')!.href = hrefOf({ view: 'store', storeId: this.storeId, tab: 'records', prefix: prefix || undefined });
  }

  /** The address of the records list with its current filter. */
  recordsRoute(): { view: 'store'; storeId: string; tab: 'records'; prefix?: string } {
    return { view: 'store', storeId: this.storeId, tab: 'records', prefix: this.prefix || undefined };
  }

  /** Reads the store again (after a change), updating the heading and facts. */
  async refresh(): Promise<void> {
    const store = await this.app.api.getStore(this.storeId);
    if (this.disposed) return;
    this.store = store;
    rememberStoreName(store);
    document.title = `${storeLabel(store)} - Storage browser`;
    this.renderFacts();
    void this.countRecords();
  }

  /** Counts the records again (after an upload or a delete). */
  async countRecords(): Promise<void> {
    try {
      const { count, exact } = await this.app.api.countRecords(this.storeId);
      this.recordCount = `${count.toLocaleString()}${exact ? '' : '+'}`;
    } catch {
      this.recordCount = '?';
    }
    if (!this.disposed) this.renderFacts();
  }

  private renderFacts(): void {
    const store = this.store!;
    clear(this.title);
    this.title.append(storeLabel(store));
    clear(this.facts);
    const fact = (label: string, value: Node | string, id?: string) => h('li', { id }, `${label} `, h('b', {}, value));
    this.facts.append(
      fact('ID', store.id),
      fact('Records', this.recordCount, 'fact-records'),
      fact('Size', formatBytes(store.stats.storageBytes), 'fact-size'),
      fact('Created', time(store.createdAt)),
      fact('Modified', time(store.modifiedAt), 'fact-modified'),
      // In words (the API's value in the tooltip).
      fact('Access', h('span', { title: store.generalAccess }, ACCESS_HELP[store.generalAccess]?.label ?? store.generalAccess), 'fact-access'),
    );
  }

  dispose(): void {
    this.disposed = true;
    this.view?.dispose();
    document.title = 'Storage browser - apify-kv';
  }
}
