/**
 * Record bodies: what a value becomes on the wire (`encodeBody`) and what a response body becomes
 * for the caller (`decodeBody`).
 */
import { parse as parseContentType } from 'content-type';
import { ApifyArgumentError } from './http/errors.js';
import { bytesOf } from './http/http-client.js';
import { platform } from './platform/node.js';
import type { StreamSource } from './platform/types.js';

/** Content type of values sent as JSON. */
export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';
/** Content type of strings. */
export const TEXT_CONTENT_TYPE = 'text/plain; charset=utf-8';
/** Content type of bytes and streams. */
export const BINARY_CONTENT_TYPE = 'application/octet-stream';

/** A request body ready to send: buffered bytes (replayable) or a stream source. */
export interface PreparedBody {
  /** Value of the `Content-Type` header. */
  contentType: string;
  /** The whole body, uncompressed, when it is buffered. */
  bytes?: Uint8Array;
  /** The body as a stream when it is not buffered. */
  stream?: StreamSource;
  /** A stream read ahead past the payload limit: it goes through a direct-upload URL. */
  overLimit?: boolean;
}

const utf8Decoder = new TextDecoder();

/** A media type (lower case, no parameters) and its charset. */
interface MediaType {
  type: string;
  charset?: string;
}

/** The last content types parsed: a client sees few distinct ones, and parsing is not free. */
const mediaTypes = new Map<string, MediaType>();
const MAX_MEDIA_TYPES = 64;

/** Media type (lower case, no parameters) and charset of a `Content-Type` value. */
export function mediaTypeOf(contentType: string | undefined): MediaType {
  if (!contentType) return { type: '' };
  const known = mediaTypes.get(contentType);
  if (known) return known;
  let media: MediaType;
  try {
    const parsed = parseContentType(contentType);
    media = { type: parsed.type.toLowerCase(), charset: parsed.parameters.charset };
  } catch {
    media = { type: contentType.split(';')[0]!.trim().toLowerCase() };
  }
  if (mediaTypes.size >= MAX_MEDIA_TYPES) mediaTypes.clear();
  mediaTypes.set(contentType, media);
  return media;
}

/** `application/json` and any `+json` type. */
export function isJsonType(type: string): boolean {
  return type === 'application/json' || type.endsWith('+json');
}

function isTextType(type: string): boolean {
  return type.startsWith('text/') || type === 'application/xml' || type.endsWith('+xml');
}

/**
 * Turns a record value into a request body. Plain values (objects, arrays, numbers, booleans,
 * null) become JSON (compact, or indented by `jsonIndent` spaces), strings become UTF-8 text, bytes and Blobs are sent as they are,
 * streams are streamed without buffering.
 */
export async function encodeBody(value: unknown, contentType?: string, size?: number, jsonIndent?: number): Promise<PreparedBody> {
  if (value === undefined) throw new ApifyArgumentError('body', 'body is required (use deleteRecord to remove a record)');
  if (contentType !== undefined && (typeof contentType !== 'string' || contentType.trim() === '')) {
    throw new ApifyArgumentError('contentType', 'contentType must be a non-empty string');
  }
  // A line break would end the header early: whatever follows would be sent as headers of its own.
  if (contentType !== undefined && /[\r\n]/.test(contentType)) {
    throw new ApifyArgumentError('contentType', 'contentType must not contain a line break (CR or LF)');
  }
  if (typeof value === 'string') return { contentType: contentType ?? TEXT_CONTENT_TYPE, bytes: platform.utf8(value) };
  // A plain object or array (the common case) is JSON: the checks for other kinds are skipped.
  // (An object with Symbol.asyncIterator is a stream.)
  const plain =
    contentType === undefined &&
    typeof value === 'object' &&
    value !== null &&
    !(Symbol.asyncIterator in value) &&
    (Array.isArray(value) || Object.getPrototypeOf(value) === Object.prototype);
  if (!plain) {
    // Tag checks, not instanceof: bytes from another realm must not be stored as "{}".
    const bytes = bytesOf(value);
    if (bytes) return { contentType: contentType ?? BINARY_CONTENT_TYPE, bytes };
    if (typeof Blob !== 'undefined' && value instanceof Blob) {
      const bytes = new Uint8Array(await value.arrayBuffer());
      return { contentType: contentType ?? (value.type || BINARY_CONTENT_TYPE), bytes };
    }
    const stream = platform.streamSource(value, size);
    if (stream) return { contentType: contentType ?? BINARY_CONTENT_TYPE, stream };
    if (typeof value === 'function' || typeof value === 'symbol' || typeof value === 'bigint') {
      throw new ApifyArgumentError('body', `a ${typeof value} cannot be stored as a record`);
    }
    if (contentType !== undefined && !isJsonType(mediaTypeOf(contentType).type)) {
      throw new ApifyArgumentError(
        'body',
        `contentType "${contentType}" needs a string, bytes or a stream as body; plain values are stored as JSON`,
      );
    }
  }
  let json: string | undefined;
  try {
    json = JSON.stringify(value, null, jsonIndent);
  } catch (error) {
    throw new ApifyArgumentError('body', `body cannot be serialised to JSON: ${(error as Error).message}`);
  }
  if (json === undefined) throw new ApifyArgumentError('body', 'body cannot be serialised to JSON');
  return { contentType: contentType ?? JSON_CONTENT_TYPE, bytes: platform.utf8(json) };
}

function decodeText(bytes: Uint8Array, charset: string | undefined): string {
  if (!charset || /^utf-?8$/i.test(charset)) return utf8Decoder.decode(bytes);
  try {
    return new TextDecoder(charset).decode(bytes);
  } catch {
    // Unknown charset label: UTF-8 is the best guess.
    return utf8Decoder.decode(bytes);
  }
}

/**
 * Turns a response body into a value: JSON types parsed, text and XML types as strings in their
 * charset, anything else as bytes (a Buffer in Node, an ArrayBuffer in the browser). A JSON body
 * that does not parse is handed to `badJson`, which throws.
 */
export function decodeBody(bytes: Uint8Array, contentType: string | undefined, badJson: (error: Error) => never): unknown {
  const { type, charset } = mediaTypeOf(contentType);
  if (isJsonType(type)) {
    const text = decodeText(bytes, charset);
    try {
      return JSON.parse(text);
    } catch (error) {
      return badJson(error as Error);
    }
  }
  if (isTextType(type)) return decodeText(bytes, charset);
  return platform.userBytes(bytes);
}

function concat(chunks: Uint8Array[], length: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

/**
 * Reads a one-shot stream of unknown size up to `limit` bytes. A stream that ends within it comes
 * back buffered (and so can be sent again on a retry); a longer one comes back as a one-shot
 * stream of the bytes read followed by the rest, marked `overLimit`. At most `limit` bytes and one
 * chunk are held in memory.
 */
export async function readAhead(body: PreparedBody, limit: number): Promise<PreparedBody> {
  const chunks = body.stream?.chunks?.();
  if (!chunks) return body;
  const head: Uint8Array[] = [];
  let length = 0;
  for (;;) {
    const next = await chunks.next();
    if (next.done) return { contentType: body.contentType, bytes: concat(head, length) };
    const chunk = bytesOf(next.value) ?? platform.utf8(String(next.value));
    head.push(chunk);
    length += chunk.byteLength;
    if (length > limit) break;
  }
  const data = platform.joinStream(head, chunks);
  const stream: StreamSource = { replayable: false, open: () => data, size: async () => undefined };
  return { contentType: body.contentType, stream, overLimit: true };
}
