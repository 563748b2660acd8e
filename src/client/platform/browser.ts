/**
 * Browser side of the client: the same `platform` object as `node.ts`, with web APIs only.
 * Bodies are not compressed (a `Content-Encoding` request header would need the server's CORS
 * consent), response bytes are ArrayBuffers and response streams are web ReadableStreams.
 */
import { AxiosError, AxiosHeaders, CanceledError, type InternalAxiosRequestConfig } from 'axios';
import type { AdapterOption } from '../http/http-client.js';
import type { Platform, StreamSource, Transport } from './types.js';
import { UPLOAD_ADAPTER, type UploadAdapter } from './xhr-upload.js';

function transport(adapter: AdapterOption | undefined): Transport {
  // The fetch adapter can hand back a response body as a stream; XMLHttpRequest cannot.
  // No numeric `maxContentLength` (not even Infinity): with one, axios's fetch adapter re-wraps
  // every response in `new Response(body, { status })`, which throws for a 204 in Chromium and
  // so breaks every delete.
  return {
    config: { adapter: adapter ?? 'fetch' },
    headers: {},
    // A watched upload goes through the progress add-on's XMLHttpRequest adapter. Without the
    // add-on it stays on fetch with axios's progress hook taken off (fetch would stream the body
    // to count it, which Chromium refuses over HTTP/1.1): the client then reports one final event.
    get uploadConfig() {
      if (adapter) return undefined;
      const upload = (globalThis as Record<symbol, UploadAdapter | undefined>)[UPLOAD_ADAPTER];
      return upload ? { adapter: (config: InternalAxiosRequestConfig) => upload(config, { AxiosError, AxiosHeaders, CanceledError }) } : { onUploadProgress: undefined };
    },
  };
}

function isWebStream(value: unknown): value is ReadableStream<Uint8Array> {
  return typeof ReadableStream !== 'undefined' && value instanceof ReadableStream;
}

/** The chunks of a web stream, or of an async iterable. */
function iterate(value: unknown): AsyncIterator<unknown> | undefined {
  if (isWebStream(value)) {
    const reader = value.getReader();
    return { next: () => reader.read() as Promise<IteratorResult<unknown>> };
  }
  const from = (value as AsyncIterable<unknown> | null)?.[Symbol.asyncIterator];
  return typeof from === 'function' ? from.call(value) : undefined;
}

function streamSource(value: unknown, size?: number): StreamSource | undefined {
  if (!isWebStream(value) && typeof (value as AsyncIterable<unknown> | null)?.[Symbol.asyncIterator] !== 'function') return undefined;
  // Read once only: a failed attempt is reported, never re-sent.
  return {
    replayable: false,
    open: () => (isWebStream(value) ? value : joinStream([], iterate(value)!)),
    size: async () => size,
    chunks: () => iterate(value)!,
  };
}

function joinStream(head: Uint8Array[], rest: AsyncIterator<unknown>): ReadableStream<Uint8Array> {
  return new ReadableStream({
    async pull(controller) {
      const next = head.length ? { value: head.shift() } : await rest.next();
      if (next.done) controller.close();
      else controller.enqueue(typeof next.value === 'string' ? new TextEncoder().encode(next.value) : (next.value as Uint8Array));
    },
  });
}

/** The response stream, failing when nothing arrives for `idleMillis` while a read waits. */
function userStream(data: unknown, idleMillis: number, streamError: (cause?: Error) => Error): unknown {
  if (!isWebStream(data)) return data;
  const reader = data.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const idle = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(streamError()), idleMillis);
      });
      try {
        const next = await Promise.race([reader.read().catch((cause: Error) => Promise.reject(streamError(cause))), idle]);
        if (next.done) controller.close();
        else controller.enqueue(next.value);
      } catch (error) {
        reader.cancel(error).catch(() => undefined);
        throw error;
      } finally {
        clearTimeout(timer);
      }
    },
    cancel: (reason) => reader.cancel(reason),
  });
}

/** HMAC-SHA256 with WebCrypto, as hex. */
async function hmacSha256Hex(key: string, message: string): Promise<string> {
  const encoder = new TextEncoder();
  const subtle = crypto.subtle;
  const cryptoKey = await subtle.importKey('raw', encoder.encode(key), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const signature = new Uint8Array(await subtle.sign('HMAC', cryptoKey, encoder.encode(message)));
  return Array.from(signature, (b) => b.toString(16).padStart(2, '0')).join('');
}

function userBytes(bytes: Uint8Array): ArrayBuffer {
  const { buffer, byteOffset, byteLength } = bytes;
  if (byteOffset === 0 && byteLength === buffer.byteLength && buffer instanceof ArrayBuffer) return buffer;
  return bytes.slice().buffer as ArrayBuffer;
}

async function readStream(data: unknown, limit: number): Promise<Uint8Array> {
  if (!isWebStream(data)) return new Uint8Array(0);
  // Only error bodies are read this way, and they are small: reading all, then cutting, is fine.
  return new Uint8Array(await new Response(data).arrayBuffer()).subarray(0, limit);
}

function discardStream(data: unknown): void {
  if (isWebStream(data)) data.cancel().catch(() => undefined);
}

/**
 * cyrb53, a fast 53-bit string hash, run over bytes. Not cryptographic: it only has to tell a
 * body this client wrote from an older one.
 */
function digest(bytes: Uint8Array): string {
  let h1 = 0xdeadbeef ^ bytes.length;
  let h2 = 0x41c6ce57 ^ bytes.length;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    h1 = Math.imul(h1 ^ b, 2654435761);
    h2 = Math.imul(h2 ^ b, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return `${bytes.length}:${(4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(36)}`;
}

/** A browser hides why a request failed: the host and the usual causes are all we can give. */
function networkHint(url: string): string | undefined {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return undefined;
  }
  const page = typeof location === 'undefined' ? undefined : location.protocol;
  const mixed = page === 'https:' && target.protocol === 'http:';
  return (
    `could not reach ${target.host}: the server may be down or unreachable from this browser, ` +
    `or the browser blocked the answer (CORS: the server must allow this page's origin)` +
    (mixed ? `, or the request (mixed content: this https page may not call an http server)` : '')
  );
}

/** The platform object the client uses in the browser. */
export const platform: Platform = {
  transport,
  compress: () => undefined,
  utf8: (text) => new TextEncoder().encode(text),
  requestData: (bytes) => bytes,
  streamSource,
  joinStream,
  userBytes,
  userStream,
  readStream,
  discardStream,
  digest,
  hmacSha256Hex,
  networkHint,
};
