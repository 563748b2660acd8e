/**
 * Node side of the client: gzip, file streams that can be reopened for a retry, Node Readable
 * streams, keep-alive agents and Buffers. The browser build replaces this module with
 * `browser.ts`, which exports the same `platform` object.
 */
import { createReadStream, ReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { CreateAxiosDefaults } from 'axios';
import type { Platform, StreamSource } from './types.js';

/** Request bodies this large or larger are sent gzip-compressed. */
export const MIN_COMPRESS_BYTES = 1024;

const gzipAsync = promisify(gzip);

// One pair of keep-alive agents for the whole process, so sockets are reused across calls and
// across clients. Node unrefs idle sockets, so they never keep a finished script alive.
let agents: { httpAgent: http.Agent; httpsAgent: https.Agent } | undefined;

function transportDefaults(): CreateAxiosDefaults {
  agents ??= {
    httpAgent: new http.Agent({ keepAlive: true }),
    httpsAgent: new https.Agent({ keepAlive: true }),
  };
  // The adapter is left to axios (its `http` adapter in Node). A faster custom adapter for Node
  // belongs here, as `adapter`, so the browser build never sees it.
  return { ...agents, headers: { 'User-Agent': 'apify-kv-client' } };
}

async function compress(bytes: Uint8Array) {
  if (bytes.byteLength < MIN_COMPRESS_BYTES) return undefined;
  return { data: await gzipAsync(bytes), encoding: 'gzip' };
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
      return createReadStream(path, { start: file.start, end: file.end });
    },
    async size() {
      const total = (await stat(path)).size;
      const start = file.start ?? 0;
      const end = file.end === undefined || file.end === Infinity ? total - 1 : Math.min(file.end, total - 1);
      return Math.max(0, end - start + 1);
    },
  };
}

/** Any other stream can be read once only: a failed attempt is reported, never re-sent. */
function oneShotSource(stream: unknown): StreamSource {
  return { replayable: false, open: () => stream, size: async () => undefined };
}

function isWebStream(value: unknown): value is ReadableStream<Uint8Array> {
  return typeof ReadableStream !== 'undefined' && value instanceof ReadableStream;
}

function streamSource(value: unknown): StreamSource | undefined {
  if (value instanceof ReadStream && typeof value.path === 'string') return fileSource(value, value.path);
  if (value instanceof Readable) return oneShotSource(value);
  if (isWebStream(value)) {
    return oneShotSource(Readable.fromWeb(value as import('node:stream/web').ReadableStream));
  }
  return undefined;
}

function userStream(data: unknown): unknown {
  return isWebStream(data) ? Readable.fromWeb(data as import('node:stream/web').ReadableStream) : data;
}

async function readStream(data: unknown, limit: number): Promise<Uint8Array> {
  const stream = userStream(data) as Readable;
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

/** The platform object the client uses in Node. */
export const platform: Platform = {
  transportDefaults,
  compress,
  requestData: asBuffer,
  streamSource,
  userBytes: asBuffer,
  userStream,
  readStream,
  discardStream,
  digest: (bytes) => createHash('sha1').update(bytes).digest('base64'),
};
