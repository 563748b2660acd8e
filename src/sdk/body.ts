import { Readable } from 'node:stream';
import contentTypeParser from 'content-type';
import { KeyValueStoreError } from './errors.js';

export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';
export const BINARY_CONTENT_TYPE = 'application/octet-stream';

/** A value the SDK stores as it is, without turning it into JSON. */
export type RawValue = string | Buffer | Uint8Array | ArrayBuffer | NodeJS.ReadableStream;

export interface EncodedValue {
  body: Buffer | Readable;
  contentType: string;
}

export function isReadableStream(value: unknown): value is Readable {
  return (
    value instanceof Readable ||
    (typeof value === 'object' && value !== null && typeof (value as Readable).pipe === 'function' && typeof (value as Readable).on === 'function')
  );
}

function rawBytes(value: unknown): Buffer | undefined {
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (value instanceof ArrayBuffer) return Buffer.from(value);
  return undefined;
}

/**
 * Turns a value into a record body. With a content type the value must already be bytes
 * (string, Buffer, stream); without one, bytes and streams are stored as binary and
 * everything else as JSON (strings too, as the Apify SDK does, so they read back as strings).
 */
export function encodeValue(value: unknown, contentType?: string): EncodedValue {
  if (contentType !== undefined) {
    if (typeof contentType !== 'string' || contentType.trim() === '') {
      throw new KeyValueStoreError('invalid-argument', 'Option "contentType" must be a non-empty string.');
    }
    if (typeof value === 'string') return { body: Buffer.from(value, 'utf8'), contentType };
    const bytes = rawBytes(value);
    if (bytes) return { body: bytes, contentType };
    if (isReadableStream(value)) return { body: value, contentType };
    throw new KeyValueStoreError(
      'invalid-value',
      `When "contentType" is given, the value must be a string, Buffer or stream (got ${describeType(value)}).`,
    );
  }
  const bytes = rawBytes(value);
  if (bytes) return { body: bytes, contentType: BINARY_CONTENT_TYPE };
  if (isReadableStream(value)) return { body: value, contentType: BINARY_CONTENT_TYPE };

  let json: string | undefined;
  try {
    json = JSON.stringify(value, null, 2);
  } catch (error) {
    throw new KeyValueStoreError('invalid-value', `The value cannot be stored as JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (json === undefined) {
    throw new KeyValueStoreError('invalid-value', `The value cannot be stored as JSON (got ${describeType(value)}).`);
  }
  return { body: Buffer.from(json, 'utf8'), contentType: JSON_CONTENT_TYPE };
}

function describeType(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'object') return value?.constructor?.name ?? 'object';
  return typeof value;
}

/** `application/json` and `*+json`. */
export function isJsonType(mediaType: string): boolean {
  return mediaType === 'application/json' || mediaType.endsWith('+json');
}

/** `text/*` and XML types read as strings. */
export function isTextType(mediaType: string): boolean {
  return (
    mediaType.startsWith('text/') ||
    mediaType === 'application/xml' ||
    mediaType.endsWith('+xml') ||
    mediaType === 'application/javascript' ||
    mediaType === 'application/x-www-form-urlencoded'
  );
}

function parseContentType(contentType: string): { mediaType: string; charset?: string } {
  try {
    const parsed = contentTypeParser.parse(contentType);
    return { mediaType: parsed.type.toLowerCase(), charset: parsed.parameters.charset };
  } catch {
    // A malformed header: keep what looks like the media type so JSON and text still decode.
    return { mediaType: contentType.split(';')[0]!.trim().toLowerCase() };
  }
}

function decodeText(body: Buffer, charset: string | undefined): string {
  if (!charset || /^utf-?8$/i.test(charset)) return body.toString('utf8');
  try {
    return new TextDecoder(charset).decode(body);
  } catch {
    return body.toString('utf8'); // an unknown charset label: UTF-8 is the best guess
  }
}

/** JSON parsed, text as a string, anything else as a Buffer. */
export function decodeBody(body: Buffer, contentType: string, key: string): unknown {
  const { mediaType, charset } = parseContentType(contentType);
  if (isJsonType(mediaType)) {
    const text = decodeText(body, charset);
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new KeyValueStoreError(
        'invalid-record-body',
        `Record "${key}" has content type ${mediaType} but its body is not valid JSON.`,
        { cause: error },
      );
    }
  }
  if (isTextType(mediaType)) return decodeText(body, charset);
  return body;
}
