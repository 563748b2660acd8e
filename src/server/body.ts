/**
 * Request bodies as streams: Content-Encoding decoded on the fly, size counted AFTER
 * decoding and cut off at the limit, so a compressed bomb or an oversized upload never
 * costs more memory than a stream buffer.
 */
import type { IncomingMessage } from 'node:http';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import zlib from 'node:zlib';
import { PayloadTooLargeError } from '../storage/errors.js';
import { invalidInput, unsupportedEncoding } from './errors.js';

export type BodyEncoding = 'identity' | 'br' | 'gzip' | 'deflate';

/** The request's Content-Encoding, or a 415 for anything we cannot decode. */
export function bodyEncoding(req: IncomingMessage): BodyEncoding {
  const header = req.headers['content-encoding'];
  if (header === undefined) return 'identity';
  const value = header.trim().toLowerCase();
  if (value === '' || value === 'identity') return 'identity';
  if (value === 'br' || value === 'gzip' || value === 'deflate') return value;
  if (value === 'x-gzip') return 'gzip';
  throw unsupportedEncoding(header);
}

/** Declared body length, or `undefined` (chunked or absent). */
export function declaredLength(req: IncomingMessage): number | undefined {
  const header = req.headers['content-length'];
  if (header === undefined || !/^\d{1,16}$/.test(header)) return undefined;
  return Number(header);
}

/** Passes bytes through and fails once more than `limit` bytes went by. */
class LimitStream extends Transform {
  bytes = 0;
  exceeded = false;
  constructor(private readonly limit: number) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.limit) {
      this.exceeded = true;
      done(new PayloadTooLargeError(this.limit, this.bytes));
      return;
    }
    done(null, chunk);
  }
}

export type BodyFailure = 'too-large' | 'corrupt' | 'aborted';

export interface DecodedBody {
  /** The decoded bytes; errors if the body is too large, corrupt or the client goes away. */
  stream: Readable;
  /** Why the stream failed, once it has; `null` while all is well. */
  failure(): BodyFailure | null;
  /** Stops decoding (frees zlib state); the request itself is left to the caller. */
  dispose(): void;
}

function createDecoder(encoding: Exclude<BodyEncoding, 'identity'>): Transform {
  if (encoding === 'br') return zlib.createBrotliDecompress();
  if (encoding === 'gzip') return zlib.createGunzip();
  return zlib.createInflate();
}

/** Wires `req -> decoder -> limit` by hand: a pipeline would destroy `req` (and the socket) on error, leaving no way to answer. */
export function decodeBody(req: IncomingMessage, encoding: BodyEncoding, maxBytes = Infinity): DecodedBody {
  const limiter = new LimitStream(maxBytes);
  const decoder = encoding === 'identity' ? null : createDecoder(encoding);
  let failure: BodyFailure | null = null;
  const fail = (kind: BodyFailure, err: Error) => {
    failure ??= kind;
    limiter.destroy(err);
  };

  limiter.on('error', () => {
    if (limiter.exceeded) failure ??= 'too-large';
  });
  if (decoder) {
    decoder.on('error', (err) => fail('corrupt', err));
    req.pipe(decoder).pipe(limiter);
  } else {
    req.pipe(limiter);
  }
  const onAbort = () => {
    if (!req.complete) fail('aborted', new Error('The client closed the connection before the body was complete.'));
  };
  req.on('error', onAbort);
  req.on('close', onAbort);

  return {
    stream: limiter,
    failure: () => failure,
    dispose: () => {
      req.unpipe();
      decoder?.destroy();
      if (!limiter.destroyed) limiter.destroy();
    },
  };
}

/** Reads a whole small body (store updates); throws 400/413-ready markers. */
export async function readSmallBody(
  req: IncomingMessage,
  maxBytes: number,
): Promise<{ ok: true; bytes: Buffer } | { ok: false; failure: BodyFailure; body: DecodedBody }> {
  const body = decodeBody(req, bodyEncoding(req), maxBytes);
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of body.stream) chunks.push(chunk as Buffer);
  } catch {
    return { ok: false, failure: body.failure() ?? 'aborted', body };
  }
  return { ok: true, bytes: Buffer.concat(chunks) };
}

export function corruptBody(encoding: string) {
  return invalidInput(`The request body could not be decoded as Content-Encoding "${encoding}".`);
}
