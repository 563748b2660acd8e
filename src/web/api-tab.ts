/**
 * The API tab: the store's endpoints as full URLs to copy, a "Try it" runner for the GET ones
 * that shows the real response, and the signed public URLs the server gives the owner. The
 * token never appears here: URLs carry none, and the help shows a placeholder.
 */
import { recordPath, storePath } from './api.js';
import { action, type App } from './app.js';
import { clear, copyButton, formatBytes, h } from './dom.js';
import type { StorePage, TabView } from './store-page.js';
import { isValidKey } from '../rules.js';

const TOKEN_PLACEHOLDER = '<YOUR_API_TOKEN>';
const BODY_MAX_CHARS = 20_000;

interface Endpoint {
  id: string;
  /** "Try it" sends a HEAD: the answer's body would be too big to fetch for a look (the whole store as a ZIP). */
  headOnly?: boolean;
  title: string;
  method: 'GET' | 'PUT' | 'DELETE';
  path: (key: string) => string;
  /** Needs a record key. */
  keyed: boolean;
}

export class ApiTab implements TabView {
  readonly element: HTMLElement;
  private readonly result = h('section', { id: 'try-result', class: 'try-result', 'aria-labelledby': 'try-title', hidden: true });
  private readonly list = h('ul', { class: 'endpoints', id: 'endpoints' });
  private readonly keyInput = h('input', { id: 'api-key', name: 'key', value: 'my-key', maxlength: 256, spellcheck: 'false', autocomplete: 'off' });
  private generation = 0;

  constructor(
    private readonly app: App,
    private readonly page: StorePage,
  ) {
    const storeId = page.storeId;
    this.keyInput.addEventListener('input', () => this.renderEndpoints());
    this.element = h(
      'div',
      {},
      h(
        'section',
        { class: 'section', 'aria-labelledby': 'endpoints-title' },
        h('h2', { id: 'endpoints-title' }, 'Endpoints'),
        h(
          'p',
          { class: 'muted', id: 'auth-help' },
          this.app.api.token
            ? `Send your token in a header: Authorization: Bearer ${TOKEN_PLACEHOLDER}. The URLs here never hold it.`
            : `This page uses no token. When the server wants one, send it in a header: Authorization: Bearer ${TOKEN_PLACEHOLDER}.`,
        ),
        h('p', { class: 'row' }, h('label', { for: 'api-key' }, 'Record key for the record endpoints'), this.keyInput),
        this.list,
        this.result,
      ),
      this.publicSection(),
    );
    this.renderEndpoints();
    // Suggest a real key, so "Try it" on a record answers 200.
    void app.api.listKeys(storeId, { limit: 1 }).then(
      (page) => {
        const first = page.items[0]?.key;
        if (first && this.keyInput.value === 'my-key') {
          this.keyInput.value = first;
          this.renderEndpoints();
        }
      },
      () => undefined,
    );
  }

  dispose(): void {
    this.generation++;
  }

  private endpoints(): Endpoint[] {
    const id = this.page.storeId;
    return [
      { id: 'get-store', title: 'Get store', method: 'GET', path: () => storePath(id), keyed: false },
      { id: 'list-keys', title: 'List keys', method: 'GET', path: () => `${storePath(id)}/keys`, keyed: false },
      { id: 'get-record', title: 'Get record', method: 'GET', path: (key) => recordPath(id, key), keyed: true },
      { id: 'put-record', title: 'Put record', method: 'PUT', path: (key) => recordPath(id, key), keyed: true },
      { id: 'delete-record', title: 'Delete record', method: 'DELETE', path: (key) => recordPath(id, key), keyed: true },
      { id: 'records-zip', title: 'All records as a ZIP', method: 'GET', path: () => `${storePath(id)}/records`, keyed: false, headOnly: true },
      { id: 'direct-upload-url', title: 'Direct upload URL (large records)', method: 'GET', path: (key) => `${recordPath(id, key)}/direct-upload-url`, keyed: true },
    ];
  }

  private renderEndpoints(): void {
    const key = this.keyInput.value.trim();
    const keyOk = isValidKey(key);
    clear(this.list);
    for (const endpoint of this.endpoints()) {
      const path = endpoint.path(keyOk ? key : 'KEY');
      const url = `${location.origin}${path}`;
      const titleId = `endpoint-${endpoint.id}`;
      const item = h(
        'li',
        { 'data-endpoint': endpoint.id, 'aria-labelledby': titleId },
        h('h3', { id: titleId }, endpoint.title),
        h(
          'div',
          { class: 'endpoint-url' },
          h('span', { class: 'method' }, endpoint.method),
          h('code', {}, url),
          copyButton(url, 'Copy', (m) => this.app.say(m), `Copy the URL of ${endpoint.title}`),
        ),
      );
      if (endpoint.method === 'GET') {
        const tryIt = h('button', { type: 'button', 'aria-label': `Try it: ${endpoint.title}`, disabled: endpoint.keyed && !keyOk }, 'Try it');
        tryIt.addEventListener('click', action(this.app, tryIt, () => this.run(endpoint.title, path, endpoint.headOnly === true)));
        item.querySelector('.endpoint-url')!.append(tryIt);
      }
      this.list.append(item);
    }
  }

  /** Sends the GET and shows its status, headers and body. */
  private async run(title: string, path: string, headOnly: boolean): Promise<void> {
    const mine = ++this.generation;
    const method = headOnly ? 'HEAD' : 'GET';
    const res = await this.app.api.fetch(path, { method });
    const bytes = headOnly ? new Uint8Array(0) : new Uint8Array(await res.arrayBuffer());
    if (mine !== this.generation) return;
    const type = res.headers.get('content-type') ?? '';
    let body: string;
    if (headOnly) {
      body = `(Not downloaded: "Try it" sent a HEAD request, which answers with the headers only. Download the ${type || 'body'} from the URL above.)`;
    } else if (/json|^text\//i.test(type)) {
      body = new TextDecoder().decode(bytes);
      if (/json/i.test(type)) {
        try {
          body = JSON.stringify(JSON.parse(body), null, 2);
        } catch {
          // Shown as it came.
        }
      }
      if (body.length > BODY_MAX_CHARS) body = `${body.slice(0, BODY_MAX_CHARS)}\n… (${formatBytes(bytes.byteLength)} in all)`;
    } else {
      body = `(${formatBytes(bytes.byteLength)} of ${type || 'binary data'}, not shown)`;
    }
    const headers = h('dl', { class: 'meta', id: 'try-headers' });
    res.headers.forEach((value, name) => headers.append(h('dt', {}, name), h('dd', {}, value)));
    clear(this.result);
    this.result.hidden = false;
    const heading = h('h3', { id: 'try-title', tabindex: '-1' }, `Response: ${title}`);
    // The answer says itself (in red when it failed): no page message that could cover the buttons below.
    this.result.append(
      heading,
      h(
        'p',
        { id: 'try-status', class: `try-status ${res.ok ? 'ok' : 'bad'}` },
        h('b', {}, `${res.status} ${res.statusText}`),
        ` ${res.ok ? '' : 'Failed: '}${method} ${location.origin}${path}`,
      ),
      h('h4', {}, 'Headers'),
      headers,
      h('h4', {}, 'Body'),
      h('pre', { id: 'try-body', tabindex: '0', 'aria-label': 'Response body' }, body),
    );
    // The answer may be far below the button (1,700 px on a phone): bring it into view and read it out.
    heading.scrollIntoView({ block: 'start' });
    heading.focus({ preventScroll: true });
  }

  private publicSection(): HTMLElement {
    const store = this.page.store!;
    const section = h('section', { class: 'section', 'aria-labelledby': 'public-title' }, h('h2', { id: 'public-title' }, 'Signed public URLs'));
    const signed = [
      { title: 'Keys (signed)', url: store.keysPublicUrl },
      { title: 'All records as a ZIP (signed)', url: store.recordsPublicUrl },
    ].filter((entry) => entry.url?.includes('signature='));
    if (signed.length === 0) {
      section.append(h('p', { class: 'muted' }, 'The server gives signed URLs to the store\'s owner only: use a token that owns this store to see them.'));
      return section;
    }
    section.append(h('p', { class: 'muted' }, 'Anyone with these links can read without a token, whatever the access setting. Each record\'s own signed URL is in its preview.'));
    const list = h('ul', { class: 'endpoints', id: 'public-urls' });
    for (const entry of signed) {
      list.append(
        h(
          'li',
          {},
          h('h3', {}, entry.title),
          h('div', { class: 'endpoint-url' }, h('span', { class: 'method' }, 'GET'), h('code', {}, entry.url), copyButton(entry.url, 'Copy', (m) => this.app.say(m), `Copy the URL of ${entry.title}`)),
        ),
      );
    }
    section.append(list);
    return section;
  }
}
