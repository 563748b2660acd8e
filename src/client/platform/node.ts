/**
 * Node side of the client: the lean node:http adapter with keep-alive agents, brotli request bodies, file streams
 * that can be reopened for a retry, Node Readable streams and Buffers. The browser build
 * replaces this module with `browser.ts`, which exports the same `platform` object.
 */
import { createReadStream, ReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import * as crypto from 'node:crypto';
import { createHash, createHmac } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { promisify } from 'node:util';
import { brotliCompress, constants as zlibConstants } from 'node:zlib';
import type { AdapterOption } from '../http/http-client.js';
import { ACCEPT_ENCODING, agents, nodeAdapter, USER_AGENT } from './node-adapter.js';
import { inSlices } from './hash-slices.js';
import type { Platform, StreamSource, Transport } from './types.js';

/** Request bodies this large or larger are sent brotli-compressed, as apify-client v2 sends them. */
export const MIN_COMPRESS_BYTES = 1024;

const brotliAsync = promisify(brotliCompress);
/** apify-client v2's brotli settings: the same bytes on the wire. */
const BROTLI_OPTIONS = { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 6 } };

/** Proxy variables axios's `http` adapter honours (through proxy-from-env) and the lean adapter does not. */
const PROXY_VARIABLES = ['HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY', 'http_proxy', 'https_proxy', 'all_proxy'];

function transport(adapter: AdapterOption | undefined): Transport {
  adapter ??= PROXY_VARIABLES.some((name) => process.env[name]) ? 'http' : nodeAdapter;
  // The lean adapter brings its own agents and User-Agent. axios's adapters are given the same
  // User-Agent, and the `http` one the same agents and no body size limits (the API has its own).
  const headers = { 'User-Agent': USER_AGENT };
  if (adapter === nodeAdapter) return { config: { adapter }, headers: { ...headers, 'Accept-Encoding': ACCEPT_ENCODING }, prepared: true };
  if (adapter !== 'http') return { config: { adapter }, headers };
  const config = { adapter, httpAgent: agents.http, httpsAgent: agents.https, maxBodyLength: Infinity, maxContentLength: Infinity };
  return { config, headers };
}

function compress(bytes: Uint8Array) {
  // Small bodies go as they are: compressing would cost more time than it saves on the wire.
  if (bytes.byteLength < MIN_COMPRESS_BYTES) return undefined;
  return brotliAsync(bytes, BROTLI_OPTIONS).then((data) => ({ data, encoding: 'br' }));
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A file stream: the first attempt uses it, each retry reopens the same byte range. */
function fileSource(file: ReadStream & { start?: number; end?: number }, path: string): StreamSource {
  let used = false;
  return {
    replayable: true,
    open() {
      if (!used && !file.readableDidRead && !file.destroyed) {
        used = true;
        return file;
      }
      used = true;
      if (!file.destroyed) file.destroy();
      const again = createReadStream(path, { start: file.start, end: file.end });
      // It may fail (the file is gone) before an adapter listens: the adapter finds it in `errored`.
      again.on('error', () => undefined);
      return again;
    },
    async size() {
      const total = (await stat(path)).size;
      const start = file.start ?? 0;
      const end = file.end === undefined || file.end === Infinity ? total - 1 : Math.min(file.end, total - 1);
      return Math.max(0, end - start + 1);
    },
  };
}

/**
 * Any other stream can be read once only: a failed attempt is reported, never re-sent. Its
 * chunks are read without ending the stream early, so what was not read can still be sent.
 */
function oneShotSource(stream: Readable, size?: number): StreamSource {
  return {
    replayable: false,
    open: () => stream,
    size: async () => size,
    chunks: () => stream.iterator({ destroyOnReturn: false }),
  };
}

function isWebStream(value: unknown): value is ReadableStream<Uint8Array> {
  return typeof ReadableStream !== 'undefined' && value instanceof ReadableStream;
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof (value as AsyncIterable<unknown> | null)?.[Symbol.asyncIterator] === 'function';
}

function streamSource(value: unknown, size?: number): StreamSource | undefined {
  // A file is sized by a stat of its path (a contentLength given for it is not needed).
  if (value instanceof ReadStream && typeof value.path === 'string') return fileSource(value, value.path);
  if (value instanceof Readable) return oneShotSource(value, size);
  if (isWebStream(value)) {
    return oneShotSource(Readable.fromWeb(value as import('node:stream/web').ReadableStream), size);
  }
  if (isAsyncIterable(value)) return oneShotSource(Readable.from(value, { objectMode: false }), size);
  return undefined;
}

function joinStream(head: Uint8Array[], rest: AsyncIterator<unknown>): Readable {
  async function* all() {
    yield* head;
    for (let next = await rest.next(); !next.done; next = await rest.next()) yield next.value;
  }
  return Readable.from(all(), { objectMode: false });
}

function toReadable(data: unknown): Readable {
  return isWebStream(data) ? Readable.fromWeb(data as import('node:stream/web').ReadableStream) : (data as Readable);
}

/**
 * The response stream as the user gets it: a pass-through that fails when the server sends nothing
 * for `idleMillis`. The clock runs only while the reader wants more (not while it is full).
 */
function userStream(data: unknown, idleMillis: number, streamError: (cause?: Error) => Error): Readable {
  const source = toReadable(data);
  const out = new PassThrough();
  let timer: NodeJS.Timeout | undefined;
  const stop = () => clearTimeout(timer);
  const arm = () => {
    stop();
    timer = setTimeout(() => {
      const error = streamError();
      source.destroy(error);
      out.destroy(error);
    }, idleMillis);
    timer.unref();
  };
  source.on('data', (chunk: Buffer) => {
    arm();
    if (!out.write(chunk)) {
      stop();
      source.pause();
    }
  });
  out.on('drain', () => {
    arm();
    source.resume();
  });
  source.on('end', () => {
    stop();
    out.end();
  });
  source.on('error', (error) => {
    stop();
    out.destroy(streamError(error));
  });
  out.on('close', () => {
    stop();
    source.destroy();
  });
  arm();
  return out;
}

async function readStream(data: unknown, limit: number): Promise<Uint8Array> {
  const stream = toReadable(data);
  const chunks: Buffer[] = [];
  let length = 0;
  try {
    for await (const chunk of stream) {
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
      chunks.push(buffer);
      length += buffer.length;
      if (length >= limit) break;
    }
  } finally {
    stream.destroy();
  }
  return Buffer.concat(chunks).subarray(0, limit);
}

function discardStream(data: unknown): void {
  const stream = data as { destroy?: () => void; cancel?: () => Promise<void> } | null;
  if (typeof stream?.destroy === 'function') stream.destroy();
  else if (typeof stream?.cancel === 'function') stream.cancel().catch(() => undefined);
}

/** Bodies up to this size are their own digest: reading them as text costs far less than hashing. */
const MAX_PLAIN_DIGEST_BYTES = 256;

function digest(bytes: Uint8Array): string {
  const buffer = asBuffer(bytes);
  if (buffer.length <= MAX_PLAIN_DIGEST_BYTES) return buffer.toString('latin1');
  return createHash('sha1').update(buffer).digest('base64');
}

/** Node 20.12+ hashes a buffer in one call, several times faster than createHash for small bodies. */
const oneShotHash = (crypto as { hash?: (algorithm: string, data: Buffer, encoding: 'hex') => string }).hash;

function md5Hex(bytes: Uint8Array): string {
  const buffer = asBuffer(bytes);
  return oneShotHash ? oneShotHash('md5', buffer, 'hex') : createHash('md5').update(buffer).digest('hex');
}

/**
 * From this size on a body's MD5 is taken in slices: Node hashes MD5 at about 700 MiB/s, so one
 * call on 4 MiB blocks the event loop some 6 ms (as long as a minor GC pause), while a 200 MiB
 * body would block it 0.3 s. Below it one call is short enough, and small bodies (most requests)
 * keep a synchronous path, with no promise to pay for.
 */
const MD5_SLICED_FROM = 4 * 1024 * 1024;
/** About 1.5 ms of hashing per turn of the event loop. */
const MD5_SLICE = 1024 * 1024;

/** Waits for the event loop's next check phase: I/O and timers due meanwhile run first. */
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

async function md5HexSliced(bytes: Uint8Array, signal?: AbortSignal): Promise<string> {
  const buffer = asBuffer(bytes);
  const hash = createHash('md5');
  const rest = await inSlices(buffer.length, MD5_SLICE, (start, end) => hash.update(buffer.subarray(start, end)), nextTurn, signal);
  return hash.update(buffer.subarray(rest)).digest('hex');
}

/** The platform object the client uses in Node. */
export const platform: Platform = {
  transport,
  compress,
  networkHint: () => undefined,
  // Buffer.from encodes faster than TextEncoder does.
  utf8: (text) => Buffer.from(text, 'utf8'),
  requestData: asBuffer,
  streamSource,
  joinStream,
  userBytes: asBuffer,
  userStream,
  readStream,
  discardStream,
  digest,
  md5Hex,
  md5HexSliced,
  md5SlicedFrom: MD5_SLICED_FROM,
  hmacSha256Hex: async (key, message) => createHmac('sha256', key).update(message).digest('hex'),
};
