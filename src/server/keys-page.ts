/**
 * The body of a keys page, as bytes ready to send, and remembered: a page asked for again (a
 * client polling a store, a browser paging back) is the same bytes as long as the store hands
 * out the same keys with the same sizes. Each request still lists the page from storage and
 * compares it item by item with the remembered one, so a key added, removed or resized (by this
 * server or another process) is never answered from memory.
 */
import type { ListKeysResult } from '../storage/types.js';
import { storeUrl, type ViewContext } from './views.js';

/** Pages remembered per server, and their total bytes. */
const MAX_PAGES = 64;
const MAX_BYTES = 16 * 1024 * 1024;

interface KnownPage {
  keys: string[];
  sizes: number[];
  /** The page's fields other than `items`, as JSON. */
  rest: string;
  body: Buffer;
}

export class KeysPageCache {
  private readonly pages = new Map<string, KnownPage>();
  private bytes = 0;

  /**
   * The JSON body of `page` (of store `storeId`, seen through `view`); `request` names what was
   * asked for (start key, prefix, limit), so that pages asked for in turn are remembered side by side.
   */
  body(storeId: string, page: ListKeysResult, view: ViewContext, request: string): Buffer {
    const rest = JSON.stringify({
      count: page.count,
      limit: page.limit,
      exclusiveStartKey: page.exclusiveStartKey,
      isTruncated: page.isTruncated,
      nextExclusiveStartKey: page.nextExclusiveStartKey,
    });
    const id = `${storeId}\n${view.base}\n${view.canWrite}\n${request}`;
    const known = this.pages.get(id);
    if (known && known.rest === rest && sameItems(known, page.items)) {
      // Most recently used last.
      this.pages.delete(id);
      this.pages.set(id, known);
      return known.body;
    }
    const body = Buffer.from(`{"data":{"items":${keyItemsJson(storeId, page.items, view)},${rest.slice(1)}}`);
    this.remember(id, {
      keys: page.items.map((item) => item.key),
      sizes: page.items.map((item) => item.size),
      rest,
      body,
    });
    return body;
  }

  private remember(id: string, page: KnownPage): void {
    this.forget(id);
    if (page.body.length > MAX_BYTES) return;
    this.pages.set(id, page);
    this.bytes += page.body.length;
    for (const [oldest] of this.pages) {
      if (this.pages.size <= MAX_PAGES && this.bytes <= MAX_BYTES) break;
      this.forget(oldest);
    }
  }

  private forget(id: string): void {
    const known = this.pages.get(id);
    if (!known) return;
    this.pages.delete(id);
    this.bytes -= known.body.length;
  }
}

function sameItems(known: KnownPage, items: ListKeysResult['items']): boolean {
  if (known.keys.length !== items.length) return false;
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    if (known.keys[i] !== item.key || known.sizes[i] !== item.size) return false;
  }
  return true;
}

/**
 * The JSON text of a keys page's `items`, the same as JSON.stringify of `keyItemView` for each
 * item but without building the objects: the URL prefix is encoded once, and what varies per
 * item (encodeURIComponent of a key, a base-62 signature, a number) never needs JSON escaping.
 * Parts are joined once at the end: a string grown by `+=` is a tree of pieces that costs more
 * to encode than it saved.
 */
export function keyItemsJson(storeId: string, items: readonly { key: string; size: number }[], view: ViewContext): string {
  const prefix = `,"recordPublicUrl":${JSON.stringify(`${storeUrl(view.base, storeId)}/records/`).slice(0, -1)}`;
  const parts = new Array<string>(items.length);
  for (let i = 0; i < items.length; i++) {
    const { key, size } = items[i]!;
    const url = encodeURIComponent(key);
    const signature = view.canWrite ? `?signature=${view.signer.recordSignature(storeId, key)}` : '';
    parts[i] = `{"key":${JSON.stringify(key)},"size":${JSON.stringify(size)}${prefix}${url}${signature}"}`;
  }
  return `[${parts.join(',')}]`;
}
