/**
 * The page's calls to the server's API, over plain fetch (the page needs raw responses for its
 * "Try it" runner anyway). The token goes in the Authorization header only, never in a URL.
 */
import type { GeneralAccess } from '../rules.js';

export const API_BASE = '/v2/key-value-stores';

export interface StoreData {
  id: string;
  name: string | null;
  userId: string;
  username: string;
  /** Given only to callers who may change the store (its owner, or anyone on a server without tokens). */
  urlSigningSecretKey: string | null;
  createdAt: string;
  modifiedAt: string;
  accessedAt: string;
  generalAccess: GeneralAccess;
  keysPublicUrl: string;
  recordsPublicUrl: string;
  stats: { storageBytes: number };
}

export interface KeyItem {
  key: string;
  size: number;
  recordPublicUrl?: string;
}

export interface KeysPage {
  items: KeyItem[];
  isTruncated: boolean;
  nextExclusiveStartKey: string | null;
}

/** A failed call: the API's error type and message, or `network-error` when no answer came. */
export class ApiProblem extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiProblem';
  }

  get notFound(): boolean {
    return this.status === 404;
  }
}

export function storePath(storeId: string): string {
  return `${API_BASE}/${encodeURIComponent(storeId)}`;
}

export function recordPath(storeId: string, key: string): string {
  return `${storePath(storeId)}/records/${encodeURIComponent(key)}`;
}

/** Stops counting a store's records after this many (the count then shows as "10000+"). */
export const COUNT_LIMIT = 10_000;

export class Api {
  constructor(readonly token: string) {}

  /** A raw request to the server; headers include the token when there is one. */
  async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.token) headers.set('Authorization', `Bearer ${this.token}`);
    try {
      return await fetch(path, { ...init, headers, cache: 'no-store' });
    } catch (err) {
      throw new ApiProblem(0, 'network-error', `Cannot reach the server (${(err as Error).message}).`);
    }
  }

  /** A call whose success body is `{"data": ...}` (or empty); failures become ApiProblem. */
  async call<T>(method: string, path: string, body?: unknown): Promise<{ status: number; data: T }> {
    const init: RequestInit = { method };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers = { 'Content-Type': 'application/json' };
    }
    const res = await this.fetch(path, init);
    if (!res.ok) throw await problemOf(res);
    const text = method === 'HEAD' ? '' : await res.text();
    const parsed = text ? (JSON.parse(text) as { data?: T }) : {};
    return { status: res.status, data: parsed.data as T };
  }

  async listStores(unnamed: boolean): Promise<{ items: StoreData[]; total: number }> {
    const query = new URLSearchParams({ limit: '1000', unnamed: String(unnamed) });
    return (await this.call<{ items: StoreData[]; total: number }>('GET', `${API_BASE}?${query}`)).data;
  }

  async getStore(storeId: string): Promise<StoreData> {
    return (await this.call<StoreData>('GET', storePath(storeId))).data;
  }

  /** Get-or-create: `created` is false when a store of that name already existed. */
  async createStore(name: string | null): Promise<{ store: StoreData; created: boolean }> {
    const query = name ? `?name=${encodeURIComponent(name)}` : '';
    const { status, data } = await this.call<StoreData>('POST', `${API_BASE}${query}`);
    return { store: data, created: status === 201 };
  }

  async updateStore(storeId: string, changes: { name?: string | null; generalAccess?: GeneralAccess }): Promise<StoreData> {
    return (await this.call<StoreData>('PUT', storePath(storeId), changes)).data;
  }

  async deleteStore(storeId: string): Promise<void> {
    await this.call('DELETE', storePath(storeId));
  }

  async listKeys(storeId: string, options: { prefix?: string; after?: string | null; limit: number }): Promise<KeysPage> {
    const query = new URLSearchParams({ limit: String(options.limit) });
    if (options.prefix) query.set('prefix', options.prefix);
    if (options.after) query.set('exclusiveStartKey', options.after);
    return (await this.call<KeysPage>('GET', `${storePath(storeId)}/keys?${query}`)).data;
  }

  /** Counts a store's records by listing its keys, up to COUNT_LIMIT. */
  async countRecords(storeId: string): Promise<{ count: number; exact: boolean }> {
    let count = 0;
    let after: string | null = null;
    for (;;) {
      const page = await this.listKeys(storeId, { after, limit: 1000 });
      count += page.items.length;
      after = page.nextExclusiveStartKey;
      if (!page.isTruncated || !after) return { count, exact: true };
      if (count >= COUNT_LIMIT) return { count, exact: false };
    }
  }

  /** The record's bytes and content type, or `null` when it does not exist. */
  async getRecord(storeId: string, key: string): Promise<{ bytes: Uint8Array; contentType: string } | null> {
    const res = await this.fetch(recordPath(storeId, key));
    if (res.status === 404) {
      const problem = await problemOf(res);
      if (problem.type === 'record-not-found') return null;
      throw problem;
    }
    if (!res.ok) throw await problemOf(res);
    return { bytes: new Uint8Array(await res.arrayBuffer()), contentType: res.headers.get('content-type') ?? 'application/octet-stream' };
  }

  async recordExists(storeId: string, key: string): Promise<boolean> {
    return (await this.headRecord(storeId, key)) !== null;
  }

  /** A record's type and size without its body; `null` on a 404 (a HEAD answer has no body to say what is missing). */
  async headRecord(storeId: string, key: string): Promise<{ contentType: string; size: number } | null> {
    const res = await this.fetch(recordPath(storeId, key), { method: 'HEAD' });
    if (res.status === 404) return null;
    if (!res.ok) throw await problemOf(res);
    return {
      contentType: res.headers.get('content-type') ?? 'application/octet-stream',
      size: Number(res.headers.get('content-length') ?? NaN),
    };
  }

  async deleteRecord(storeId: string, key: string): Promise<void> {
    await this.call('DELETE', recordPath(storeId, key));
  }
}

/** The API's error body as an ApiProblem (a body that is not one still gives a useful message). */
export async function problemOf(res: Response): Promise<ApiProblem> {
  let type = `http-${res.status}`;
  let message = `The server answered HTTP ${res.status}.`;
  try {
    const body = (await res.json()) as { error?: { type?: string; message?: string } };
    if (body.error?.type) type = body.error.type;
    if (body.error?.message) message = body.error.message;
  } catch {
    // Not JSON (or a HEAD request): the status says enough.
  }
  return new ApiProblem(res.status, type, message);
}
