/** A store's page: its name and facts, and the tabs Records, Settings and API. */
import type { StoreData } from './api.js';
import { storeLabel, type App } from './app.js';
import { ApiTab } from './api-tab.js';
import { clear, focus, formatBytes, h, time } from './dom.js';
import { RecordsTab } from './records-tab.js';
import { hrefOf, type StoreTab } from './router.js';
import { SettingsTab } from './settings-tab.js';

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
  private tab: StoreTab | null = null;
  private view: TabView | null = null;
  private records: RecordsTab | null = null;
  /** The records list's key filter, kept while other tabs show. */
  private prefix = '';
  private recordCount: string = '…';
  private readonly loaded: Promise<boolean>;
  private disposed = false;

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
    main.append(
      h('p', { class: 'crumbs' }, h('a', { href: '#/' }, 'Key-value stores')),
      h('div', { class: 'panel' }, h('header', {}, this.title, this.facts, nav), this.panel),
    );
    this.loaded = this.refresh().then(
      () => true,
      (err) => {
        if (!this.disposed) app.fail(err);
        return false;
      },
    );
  }

  /** The store's name, or its id while it is loading. */
  get label(): string {
    return this.store ? storeLabel(this.store) : this.storeId;
  }

  /** Shows a tab (and, on Records, a record), loading the store first. */
  async show(route: { tab: StoreTab; key?: string; prefix?: string }, moveFocus: boolean): Promise<void> {
    // An address with another filter (typed, reloaded, Back) lists the records again.
    const newPrefix = route.tab === 'records' && route.key === undefined && (route.prefix ?? '') !== this.prefix;
    if (newPrefix) this.setPrefix(route.prefix ?? '');
    const sameTab = this.tab === route.tab && !newPrefix;
    if (!(await this.loaded) || this.disposed) return;
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
      fact('Access', store.generalAccess),
    );
  }

  dispose(): void {
    this.disposed = true;
    this.view?.dispose();
    document.title = 'Storage browser - apify-kv';
  }
}
