/**
 * Record bodies: what a value becomes on the wire (`encodeBody`) and what a response body becomes
 * for the caller (`decodeBody`).
 */
import { parse as parseContentType } from 'content-type';
import { ApifyArgumentError } from './http/errors.js';
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
 * null) become compact JSON, strings become UTF-8 text, bytes and Blobs are sent as they are,
 * streams are streamed without buffering.
 */
export async function encodeBody(value: unknown, contentType?: string): Promise<PreparedBody> {
  if (value === undefined) throw new ApifyArgumentError('body', 'body is required (use deleteRecord to remove a record)');
  if (contentType !== undefined && (typeof contentType !== 'string' || contentType.trim() === '')) {
    throw new ApifyArgumentError('contentType', 'contentType must be a non-empty string');
  }
  if (typeof value === 'string') return { contentType: contentType ?? TEXT_CONTENT_TYPE, bytes: platform.utf8(value) };
  if (value instanceof Uint8Array) return { contentType: contentType ?? BINARY_CONTENT_TYPE, bytes: value };
  if (value instanceof ArrayBuffer) return { contentType: contentType ?? BINARY_CONTENT_TYPE, bytes: new Uint8Array(value) };
  if (ArrayBuffer.isView(value)) {
    const bytes = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    return { contentType: contentType ?? BINARY_CONTENT_TYPE, bytes };
  }
  if (typeof Blob !== 'undefined' && value instanceof Blob) {
    const bytes = new Uint8Array(await value.arrayBuffer());
    return { contentType: contentType ?? (value.type || BINARY_CONTENT_TYPE), bytes };
  }
  const stream = platform.streamSource(value);
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
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
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
 * that does not parse is returned as its text.
 */
export function decodeBody(bytes: Uint8Array, contentType: string | undefined): unknown {
  const { type, charset } = mediaTypeOf(contentType);
  if (isJsonType(type)) {
    const text = decodeText(bytes, charset);
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  if (isTextType(type)) return decodeText(bytes, charset);
  return platform.userBytes(bytes);
}

/** Parses an API answer (`{"data": ...}`) and returns its `data`. */
export function parseEnvelope<T>(bytes: Uint8Array): T {
  if (bytes.byteLength === 0) return undefined as T;
  const parsed = JSON.parse(decodeText(bytes, 'utf-8')) as { data?: T };
  return parsed.data as T;
}
