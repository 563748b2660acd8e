/**
 * A record's preview, in a modal dialog so it opens in view wherever the list was scrolled to:
 * JSON pretty-printed, text, images; other types show their size and a download link.
 */
import { describeError, type App } from './app.js';
import type { KeyItem } from './api.js';
import { byId, clear, copyButton, focus, formatBytes, h } from './dom.js';

/** Larger records are not loaded for a preview: only on an explicit download. */
const PREVIEW_MAX_BYTES = 10 * 1024 * 1024;
const TEXT_PREVIEW_MAX_CHARS = 500_000;

function mediaTypeOf(contentType: string): string {
  return contentType.split(';')[0]!.trim().toLowerCase();
}

function decodeText(bytes: Uint8Array, contentType: string): string {
  const charset = /;\s*charset="?([^";\s]+)"?/i.exec(contentType)?.[1] ?? 'utf-8';
  try {
    return new TextDecoder(charset).decode(bytes);
  } catch {
    return new TextDecoder('utf-8').decode(bytes);
  }
}

const isJson = (type: string) => type === 'application/json' || type.endsWith('+json');
const isText = (type: string) =>
  type.startsWith('text/') || type === 'application/xml' || type.endsWith('+xml') || type === 'application/javascript' || type === 'application/x-ndjson';

export class Preview {
  /** The key shown last (focus returns to its row when the preview closes). */
  lastKey: string | null = null;
  private readonly dialog = byId<HTMLDialogElement>('preview');
  private readonly title = byId('preview-title');
  private readonly error = byId('preview-error');
  /** The dialog's own message line: the page's messages lie under the dialog's backdrop. */
  private readonly status = byId('preview-status');
  private readonly meta = byId('preview-meta');
  private readonly body = byId('preview-body');
  private readonly actions = byId('preview-actions');
  private objectUrls: string[] = [];
  private generation = 0;
  private readonly onCancel = (event: Event) => {
    // Escape: close through the address, like the Close button.
    event.preventDefault();
    this.handlers.close();
  };
  private readonly onClose = () => this.handlers.close();
  private readonly onRefresh = () => void this.refresh();
  private item: KeyItem | undefined;

  constructor(
    private readonly app: App,
    private readonly storeId: string,
    private readonly handlers: { close(): void; missing(key: string): void; seen(key: string, size: number): void },
  ) {}

  get isOpen(): boolean {
    return this.dialog.open;
  }

  /** Reads the shown record again (it may have changed elsewhere); focus stays where it is. */
  async refresh(): Promise<void> {
    if (this.dialog.open && this.lastKey !== null) await this.open(this.lastKey, this.item, false);
  }

  async open(key: string, item: KeyItem | undefined, moveFocus = true): Promise<void> {
    const mine = ++this.generation;
    this.reset();
    this.lastKey = key;
    this.item = item;
    this.title.textContent = key;
    this.body.append(h('p', { class: 'muted' }, 'Loading…'));
    this.dialog.addEventListener('cancel', this.onCancel);
    byId('preview-close').addEventListener('click', this.onClose);
    byId('preview-refresh').addEventListener('click', this.onRefresh);
    if (!this.dialog.open) this.dialog.showModal();
    if (moveFocus) focus(this.title);

    // The type and size first (HEAD): a body is fetched only when the preview shows it.
    let head: Awaited<ReturnType<App['api']['headRecord']>>;
    let record: Awaited<ReturnType<App['api']['getRecord']>> = null;
    try {
      head = await this.app.api.headRecord(this.storeId, key);
      // A 404 to a HEAD does not say whether the record or the store is missing: the GET's body does.
      if (!head && mine === this.generation) record = await this.app.api.getRecord(this.storeId, key);
    } catch (err) {
      if (mine !== this.generation) return;
      this.close();
      this.app.fail(err);
      return;
    }
    if (mine !== this.generation) return;
    if (!head && !record) {
      this.close();
      this.handlers.missing(key);
      return;
    }
    if (head) {
      const type = mediaTypeOf(head.contentType);
      this.handlers.seen(key, head.size);
      const shown = isJson(type) || isText(type) || type.startsWith('image/');
      if (!shown || head.size > PREVIEW_MAX_BYTES) {
        this.show(key, head.contentType, head.size, item);
        this.body.append(h('p', {}, shown ? `Too large to preview here (${formatBytes(head.size)}).` : `Binary record of ${formatBytes(head.size)}, no preview.`));
        const download = h('button', { type: 'button', id: 'preview-download' }, `Download ${formatBytes(head.size)}`);
        download.addEventListener('click', () => void this.download(key));
        this.actions.prepend(download);
        return;
      }
      try {
        record = await this.app.api.getRecord(this.storeId, key);
      } catch (err) {
        if (mine !== this.generation) return;
        this.close();
        this.app.fail(err);
        return;
      }
      if (mine !== this.generation) return;
      if (!record) {
        this.close();
        this.handlers.missing(key);
        return;
      }
    }
    const { bytes, contentType } = record!;
    this.handlers.seen(key, bytes.byteLength);
    const type = mediaTypeOf(contentType);
    this.show(key, contentType, bytes.byteLength, item);
    if (type.startsWith('image/')) {
      // Images first (an SVG is XML too): a blob URL in an <img>, where even an SVG cannot run script.
      this.body.append(h('img', { src: this.objectUrl(bytes, type), alt: `Image record ${key}` }));
    } else if (isJson(type) || isText(type)) {
      let text = decodeText(bytes, contentType);
      let note = '';
      if (isJson(type)) {
        try {
          text = JSON.stringify(JSON.parse(text), null, 2);
        } catch {
          note = 'Not valid JSON: shown as it is.';
        }
      }
      if (text.length > TEXT_PREVIEW_MAX_CHARS) {
        text = text.slice(0, TEXT_PREVIEW_MAX_CHARS);
        note = 'Only the start is shown.';
      }
      if (note) this.body.append(h('p', { class: 'muted' }, note));
      this.body.append(h('pre', { tabindex: '0', 'aria-label': `Content of ${key}` }, text));
    } else {
      this.body.append(h('p', {}, `Binary record of ${formatBytes(bytes.byteLength)}, no preview.`));
    }
    this.actions.prepend(h('a', { class: 'button', href: this.objectUrl(bytes, type), download: key }, 'Download'));
  }

  /** Closes the dialog; true when it was open. */
  close(): boolean {
    this.generation++;
    const wasOpen = this.dialog.open;
    this.dialog.removeEventListener('cancel', this.onCancel);
    byId('preview-close').removeEventListener('click', this.onClose);
    byId('preview-refresh').removeEventListener('click', this.onRefresh);
    if (wasOpen) this.dialog.close();
    this.reset();
    return wasOpen;
  }

  private reset(): void {
    for (const url of this.objectUrls) URL.revokeObjectURL(url);
    this.objectUrls = [];
    for (const node of [this.error, this.status, this.meta, this.body, this.actions]) clear(node);
  }

  private show(key: string, contentType: string | null, size: number, item: KeyItem | undefined): void {
    clear(this.body);
    const facts: Array<[string, string | null]> = [
      ['Key', key],
      ['Content type', contentType],
      ['Size', `${formatBytes(size)}${size >= 1024 ? ` (${size.toLocaleString()} bytes)` : ''}`],
    ];
    for (const [label, value] of facts) {
      if (value !== null) this.meta.append(h('dt', {}, label), h('dd', {}, value));
    }
    // A signed URL lets anyone with it read this record, without a token.
    if (item?.recordPublicUrl?.includes('signature=')) {
      this.actions.append(copyButton(item.recordPublicUrl, 'Copy signed URL', (m) => (this.status.textContent = m)));
    }
  }

  private objectUrl(bytes: Uint8Array, type: string): string {
    const url = URL.createObjectURL(new Blob([bytes as BlobPart], { type }));
    this.objectUrls.push(url);
    return url;
  }

  private async download(key: string): Promise<void> {
    try {
      const record = await this.app.api.getRecord(this.storeId, key);
      if (!record) throw new Error(`The record "${key}" no longer exists.`);
      const link = h('a', { href: this.objectUrl(record.bytes, mediaTypeOf(record.contentType)), download: key });
      link.click();
    } catch (err) {
      this.error.textContent = describeError(err);
    }
  }
}
