/**
 * What the HTTP layer writes on the wire and reads back, apart from sending: path and query
 * encoding, bytes and headers from any adapter, the API's envelopes, and errors stripped of
 * secrets before they are kept as a cause.
 */
import type { AxiosError } from 'axios';
import type { ApifyApiError } from './errors.js';
import { redact } from './errors.js';

/** At most this much of an error body is read to find the server's message. */
export const MAX_ERROR_BODY_BYTES = 64 * 1024;

export const EMPTY = new Uint8Array(0);

/** Encodes one path segment. `!'()*` are encoded as well, so no key has a special meaning in a URL. */
export function encodePathSegment(segment: string): string {
  const encoded = encodeURIComponent(segment);
  // Most keys have none of these: testing first spares the replace and its callback.
  return /[!'()*]/.test(encoded)
    ? encoded.replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    : encoded;
}

export function queryString(query: Record<string, string | number | boolean | undefined> | undefined): string {
  let text = '';
  for (const name in query) {
    const value = query[name];
    if (value === undefined) continue;
    // Booleans as 1/0, as apify-client v2's serializer sends them.
    const encoded = encodeURIComponent(typeof value === 'boolean' ? (value ? '1' : '0') : String(value));
    text += `${text ? '&' : '?'}${encodeURIComponent(name)}=${encoded}`;
  }
  return text;
}

/**
 * Bytes of an ArrayBuffer or a typed array, from any realm (an iframe, a VM context): tag checks,
 * not instanceof. Undefined for anything else.
 */
export function bytesOf(data: unknown): Uint8Array | undefined {
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const tag = Object.prototype.toString.call(data);
  if (tag === '[object ArrayBuffer]' || tag === '[object SharedArrayBuffer]') return new Uint8Array(data as ArrayBuffer);
  return undefined;
}

/** Response bytes: a Buffer from the Node adapters, an ArrayBuffer from fetch. */
export function toBytes(data: unknown): Uint8Array {
  return bytesOf(data) ?? EMPTY;
}

/**
 * A header value by name, whatever the letter case the adapter used: AxiosHeaders look names up
 * case-insensitively, a plain object (a custom adapter's) is searched.
 */
export function headerOf(headers: unknown, name: string): string | undefined {
  if (!headers || typeof headers !== 'object') return undefined;
  const lower = name.toLowerCase();
  let value = (headers as Record<string, unknown>)[lower];
  if (value === undefined) {
    for (const field in headers) {
      if (field.toLowerCase() === lower) {
        value = (headers as Record<string, unknown>)[field];
        break;
      }
    }
  }
  if (value === undefined || value === null || value === false) return undefined;
  return Array.isArray(value) ? value.join(', ') : String(value);
}

/** The path of an absolute URL without its query (a signed URL's query is a secret). */
export function pathOfUrl(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return url.split('?')[0]!;
  }
}

/** Parses an API answer (`{"data": ...}`) and returns its `data`. */
export function parseEnvelope<T>(bytes: Uint8Array, invalid: (type: string, message: string) => ApifyApiError): T {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw invalid('invalid-response', bytes.byteLength === 0 ? 'The API answered with an empty body' : 'The API answered with a body that is not JSON');
  }
  const data = (parsed as { data?: unknown } | null)?.data;
  if (typeof data !== 'object' || data === null) throw invalid('invalid-response', 'The API answer has no "data" object');
  return data as T;
}

export function parseErrorBody(bytes: Uint8Array): { type?: string; message?: string; data?: Record<string, unknown> } {
  if (bytes.byteLength === 0) return {};
  try {
    const parsed = JSON.parse(new TextDecoder().decode(bytes)) as { error?: { type?: unknown; message?: unknown; data?: unknown } };
    const type = typeof parsed.error?.type === 'string' ? parsed.error.type : undefined;
    const message = typeof parsed.error?.message === 'string' ? parsed.error.message : undefined;
    const data = typeof parsed.error?.data === 'object' && parsed.error.data !== null ? (parsed.error.data as Record<string, unknown>) : undefined;
    return { type, message, data };
  } catch {
    return {};
  }
}

/**
 * Strips an axios error down to what is safe to keep as `cause`: no request object and no
 * request headers (they hold the token), no agents or sockets, no response body, no query
 * string, and no secret in its message or stack.
 */
export function sanitize(error: AxiosError, secrets: (string | undefined)[]): AxiosError {
  const { config, response } = error;
  if (config) {
    const url = config.url && redact(config.url.split('?')[0]!, secrets);
    error.config = { method: config.method, url, timeout: config.timeout } as typeof config;
  }
  delete error.request;
  if (response) {
    const { status, statusText, headers } = response;
    error.response = { status, statusText, headers } as typeof response;
  }
  // The transport's own errors down the cause chain get the same treatment.
  let link: unknown = error;
  for (let depth = 0; depth < 5 && link instanceof Error; depth++) {
    link.message = redact(link.message, secrets);
    if (link.stack) link.stack = redact(link.stack, secrets);
    link = link.cause;
  }
  return error;
}
