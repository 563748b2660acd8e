/** The Records tab: a store's keys page by page, filtered by prefix; upload and delete. */
import type { KeyItem } from './api.js';
import { action, canChange, type App } from './app.js';
import { byId, clear, focus, formatBytes, h } from './dom.js';
import { Preview } from './preview.js';
import { hrefOf } from './router.js';
import { uploadRecord } from './upload.js';
import type { StorePage, TabView } from './store-page.js';
import { isValidKey } from '../rules.js';

const PAGE_SIZE = 50;

/** A record key made from a file name: characters the API refuses become "_". */
export function keyFromFileName(name: string): string {
  const key = name.replace(/[^a-zA-Z0-9!\-_.'()]/g, '_').slice(0, 256);
  return isValidKey(key) ? key : 'file';
}

/** In place of the forms a visitor may not use: what they can do and how to get more. */
export function readOnlyNote(): HTMLElement {
  return h(
    'p',
    { class: 'notice info read-only-note' },
    "You can read this store but not change it: only its owner can upload, delete or change settings. To do that, enter the owner's API token at the top.",
  );
}

export class RecordsTab implements TabView {
  readonly element: HTMLElement;
  private readonly items = new Map<string, KeyItem>();
  private readonly rows = h('tbody', { id: 'key-rows' });
  private readonly more = h('button', { type: 'button', id: 'keys-more', hidden: true }, 'More');
  private readonly empty = h('p', { id: 'keys-empty', class: 'muted', hidden: true }, 'No records.');
  private readonly heading = h('h2', { id: 'records-title' }, 'Records');
  private readonly preview: Preview;
  private prefix = '';
  private nextKey: string | null = null;
  private generation = 0;
  private firstPage: Promise<void>;
  /** This tab showed the list just before the record (so the entry before the record's is the list). */
  private listShown = false;
  private openedOverList = false;

  constructor(
    private readonly app: App,
    private readonly page: StorePage,
    prefix = '',
  ) {
    this.preview = new Preview(app, page.storeId, {
      // Opened over the list: closing steps back to it, so Back does not reopen the record.
      // Opened by a link from elsewhere or a reload: the record's address gives way to the list's.
      close: () => (this.openedOverList ? history.back() : app.navigate(page.recordsRoute(), { replace: true })),
      missing: (key) => this.recordGone(key),
      seen: (key, size) => this.updateSize(key, size),
    });
    this.prefix = prefix;
    const prefixInput = h('input', { id: 'prefix', name: 'prefix', type: 'search', spellcheck: 'false', autocomplete: 'off', value: prefix });
    const filterButton = h('button', { type: 'submit' }, 'Filter');
    const filter = h('form', { id: 'filter-form', class: 'row', role: 'search' }, h('label', { for: 'prefix' }, 'Key prefix'), prefixInput, filterButton);
    filter.addEventListener(
      'submit',
      action(app, filterButton, async () => {
        this.prefix = prefixInput.value.trim();
        // In the address (replacing it: filtering is not a step Back should undo).
        page.setPrefix(this.prefix);
        app.navigate(page.recordsRoute(), { replace: true });
        await this.load(true);
        app.say(`${this.items.size}${this.nextKey ? '+' : ''} records ${this.prefix ? `with keys starting with "${this.prefix}"` : 'in all'}.`);
      }),
    );
    this.more.addEventListener(
      'click',
      action(app, this.more, async () => {
        const before = this.rows.children.length;
        await this.load(false);
        // Focus the first new row, so the keyboard continues where the list grew.
        focus(this.rows.children[before]?.querySelector('a') ?? this.heading);
      }),
    );
    const table = h(
      'table',
      { 'aria-labelledby': 'records-title', class: 'keys' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Key'), h('th', { scope: 'col', class: 'num' }, 'Size'), h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, 'Actions')))),
      this.rows,
    );
    this.element = h(
      'section',
      { 'aria-labelledby': 'records-title' },
      h('div', { class: 'head' }, this.heading, filter),
      h('a', { class: 'skip-inline', href: '#upload-title', 'data-focus': 'upload-title' }, 'Skip past the records list'),
      table,
      this.empty,
      h('p', {}, this.more),
      // Only those who may change the store get the controls that change it.
      canChange(page.store) ? this.uploadForm() : readOnlyNote(),
    );
    this.firstPage = this.load(true).catch((err) => app.fail(err));
  }

  /** Opens the record's preview, or closes it when `key` is undefined. */
  async showRecord(key: string | undefined): Promise<void> {
    await this.firstPage;
    this.markCurrent(key);
    const fromList = this.listShown;
    this.listShown = key === undefined;
    if (key === undefined) {
      if (this.preview.close()) focus(this.linkFor(this.preview.lastKey) ?? this.heading);
      return;
    }
    this.openedOverList = fromList;
    await this.preview.open(key, this.items.get(key));
  }

  /** Lists the records again and reads an open record again (Refresh: they may have changed elsewhere). */
  async reload(): Promise<void> {
    await this.load(true);
    this.markCurrent(this.preview.isOpen ? (this.preview.lastKey ?? undefined) : undefined);
    await this.preview.refresh();
  }

  dispose(): void {
    this.generation++;
    this.preview.close();
  }

  /** Loads the first page of keys (`fromStart`) or the next one. */
  private async load(fromStart: boolean): Promise<void> {
    const mine = ++this.generation;
    const page = await this.app.api.listKeys(this.page.storeId, {
      prefix: this.prefix,
      after: fromStart ? null : this.nextKey,
      limit: PAGE_SIZE,
    });
    if (mine !== this.generation) return;
    if (fromStart) {
      clear(this.rows);
      this.items.clear();
    }
    for (const item of page.items) {
      this.items.set(item.key, item);
      this.rows.append(this.row(item));
    }
    this.nextKey = page.isTruncated ? page.nextExclusiveStartKey : null;
    this.more.hidden = !this.nextKey;
    this.updateEmpty();
  }

  private updateEmpty(): void {
    this.empty.hidden = this.rows.children.length > 0;
    this.empty.textContent = this.prefix ? `No records with keys starting with "${this.prefix}".` : 'No records.';
  }

  private row(item: KeyItem): HTMLTableRowElement {
    let remove: HTMLButtonElement | null = null;
    if (canChange(this.page.store)) {
      remove = h('button', { type: 'button', class: 'danger', 'aria-label': `Delete record ${item.key}` }, 'Delete');
      remove.addEventListener('click', action(this.app, remove, () => this.deleteRecord(item.key)));
    }
    return h(
      'tr',
      { 'data-key': item.key },
      h('td', { 'data-label': 'Key' }, h('a', { class: 'item', href: hrefOf({ view: 'store', storeId: this.page.storeId, tab: 'records', key: item.key }) }, item.key)),
      h('td', { class: 'num', 'data-label': 'Size' }, formatBytes(item.size)),
      h('td', { class: 'actions-cell' }, remove),
    );
  }

  /** A record read in full shows its size now (it may have changed since the list was read). */
  private updateSize(key: string, size: number): void {
    const item = this.items.get(key);
    if (!item || item.size === size) return;
    item.size = size;
    const cell = this.rowFor(key)?.querySelector('td.num');
    if (cell) cell.textContent = formatBytes(size);
  }

  private rowFor(key: string | null): HTMLTableRowElement | null {
    if (key === null) return null;
    for (const row of Array.from(this.rows.children)) if (row.getAttribute('data-key') === key) return row as HTMLTableRowElement;
    return null;
  }

  private linkFor(key: string | null): HTMLAnchorElement | null {
    return this.rowFor(key)?.querySelector('a') ?? null;
  }

  private markCurrent(key: string | undefined): void {
    for (const row of Array.from(this.rows.children)) row.setAttribute('aria-current', String(row.getAttribute('data-key') === key));
  }

  /** Takes a record's row away; focus goes to the next row, or the heading when none is left. */
  private removeRow(key: string): void {
    // (The row's own Delete button was disabled while it worked, so focus is no longer in the row.)
    const row = this.rowFor(key);
    this.items.delete(key);
    if (!row) return;
    const next = (row.nextElementSibling ?? row.previousElementSibling)?.querySelector('a');
    row.remove();
    this.updateEmpty();
    focus(next ?? this.heading);
  }

  private async deleteRecord(key: string): Promise<void> {
    if (!confirm(`Delete the record "${key}"?`)) return;
    try {
      await this.app.api.deleteRecord(this.page.storeId, key);
    } catch (err) {
      if ((err as { type?: string }).type !== 'record-not-found') throw err;
    }
    this.removeRow(key);
    this.app.say(`Deleted the record "${key}".`);
    await this.page.refresh();
  }

  /** A record deleted elsewhere: its row goes, and the user hears why. */
  private recordGone(key: string): void {
    this.removeRow(key);
    this.app.navigate(this.page.recordsRoute(), { replace: true });
    this.app.fail(new Error(`The record "${key}" no longer exists: it may have been deleted elsewhere.`));
    void this.page.countRecords();
  }

  private uploadForm(): HTMLFormElement {
    const file = h('input', { id: 'upload-file', name: 'file', type: 'file' });
    const key = h('input', { id: 'upload-key', name: 'key', maxlength: 256, spellcheck: 'false', autocomplete: 'off', 'aria-describedby': 'upload-help' });
    const submit = h('button', { type: 'submit', class: 'primary' }, 'Upload');
    const progress = h('progress', { id: 'upload-progress', max: 1, value: 0, 'aria-label': 'Upload progress', hidden: true });
    file.addEventListener('change', () => {
      const chosen = file.files?.[0];
      if (chosen) key.value = keyFromFileName(chosen.name);
    });
    const form = h(
      'form',
      { id: 'upload-form', class: 'section', 'aria-labelledby': 'upload-title' },
      h('h3', { id: 'upload-title', tabindex: '-1' }, 'Upload a file as a record'),
      h('p', { class: 'row' }, h('label', { for: 'upload-file' }, 'File'), file),
      h('p', { class: 'row' }, h('label', { for: 'upload-key' }, 'Key'), key, submit),
      h('p', {}, progress),
      h('p', { id: 'upload-help', class: 'muted' }, "The key defaults to the file's name. Keys are 1-256 characters of a-z, A-Z, 0-9 and !-_.'()"),
    );
    form.addEventListener(
      'submit',
      action(this.app, submit, async () => {
        const chosen = file.files?.[0];
        if (!chosen) throw new Error('Choose a file to upload.');
        const name = key.value.trim() || keyFromFileName(chosen.name);
        if (!isValidKey(name)) throw new Error("A record key is 1-256 characters of a-z, A-Z, 0-9 and !-_.'()");
        const storeId = this.page.storeId;
        if ((await this.app.api.recordExists(storeId, name)) && !confirm(`The record "${name}" exists. Replace it?`)) return;
        const contentType = chosen.type || 'application/octet-stream';
        progress.max = Math.max(chosen.size, 1);
        progress.value = 0;
        progress.hidden = false;
        let direct: boolean;
        try {
          ({ direct } = await uploadRecord(this.app.api, storeId, name, chosen, contentType, (sent, total) => {
            progress.max = Math.max(total, 1);
            progress.value = sent;
          }));
        } finally {
          progress.hidden = true;
        }
        form.reset();
        await this.load(true);
        await this.page.refresh();
        this.app.say(`Uploaded "${name}" (${formatBytes(chosen.size)}, ${contentType})${direct ? ' through a direct-upload URL' : ''}.`);
        byId('upload-file').focus();
      }),
    );
    return form;
  }
}
