/**
 * What the client needs from its platform. `node.ts` and `browser.ts` both export exactly these
 * names; the browser build swaps one for the other, so nothing Node-specific reaches the bundle.
 */
import type { AxiosRequestConfig } from 'axios';
import type { AdapterOption } from '../http/http-client.js';
import type { ProgressReporter } from '../http/progress.js';

/** An adapter and what it needs. */
export interface Transport {
  /** Axios options of every request: the adapter, and agents or limits it needs. */
  config: AxiosRequestConfig;
  /** Headers sent with every request (a `User-Agent` where the platform lets the client set one). */
  headers: Record<string, string>;
  /**
   * True when the adapter takes the request as a {@link PreparedRequest} in `config.call`, so
   * axios's config holds no more than the method, URL and adapter.
   */
  prepared?: boolean;
  /** Axios options of a request whose upload progress is watched, when it needs another adapter. */
  uploadConfig?: AxiosRequestConfig;
}

/** A request as the client hands it to its own adapter, beside a minimal axios config. */
export interface PreparedRequest {
  /** True when axios's config holds only the method, URL and adapter: this is the request. */
  readonly shortPath: boolean;
  /** The final request headers, sent as they are. */
  headers: Record<string, string>;
  /** The body of the next attempt: bytes, a string or a Node Readable. */
  data: unknown;
  /** Time limit of one attempt. */
  timeoutMillis: number;
  /** Hand back the response body unread. */
  stream: boolean;
  signal: AbortSignal | undefined;
  /** Told the bytes of the body sent so far. */
  upload?: ProgressReporter;
  /** Told the bytes of the answer's body received so far, and its length when known. */
  download?: ProgressReporter;
}

/** A request body that is a stream, possibly one that can be opened again for a retry. */
export interface StreamSource {
  /** Data for axios for the next attempt (a fresh stream when the source is replayable). */
  open(): unknown;
  /** Whether `open()` may be called again after an attempt consumed the data. */
  readonly replayable: boolean;
  /** Size in bytes when it can be known without reading the stream. */
  size(): Promise<number | undefined>;
  /**
   * The chunks of a one-shot stream of unknown size, read in order (so the client can read
   * ahead to decide between a plain PUT and a direct upload). Reading them consumes the stream.
   */
  chunks?(): AsyncIterator<unknown>;
}

/** The functions each platform module exports. */
export interface Platform {
  /** How requests travel with an adapter (the platform's own when none is given). */
  transport(adapter: AdapterOption | undefined): Transport;
  /** Compresses a request body; undefined (at once, not as a promise) when it is not compressed. */
  compress(bytes: Uint8Array): Promise<{ data: Uint8Array; encoding: string }> | undefined;
  /** Encodes text as UTF-8. */
  utf8(text: string): Uint8Array;
  /** Turns bytes into what the transport accepts as request data. */
  requestData(bytes: Uint8Array): unknown;
  /**
   * Recognises a stream value given as a record body (a stream, or an async iterable of chunks);
   * undefined for anything else. `size` is the caller's word for its length.
   */
  streamSource(value: unknown, size?: number): StreamSource | undefined;
  /** Request data that sends the chunks already read, then the rest of the iterator. */
  joinStream(head: Uint8Array[], rest: AsyncIterator<unknown>): unknown;
  /** Bytes handed back to the user: a Buffer in Node, an ArrayBuffer in the browser. */
  userBytes(bytes: Uint8Array): unknown;
  /**
   * A response stream handed back to the user: a Node Readable, or a web ReadableStream. It fails
   * with `streamError()` when the server sends nothing for `idleMillis` while the reader waits,
   * and with `streamError(cause)` when the transport's stream fails.
   */
  userStream(data: unknown, idleMillis: number, streamError: (cause?: Error) => Error): unknown;
  /** Reads up to `limit` bytes of a response stream, then lets go of it. */
  readStream(data: unknown, limit: number): Promise<Uint8Array>;
  /** Releases a response stream nobody will read. */
  discardStream(data: unknown): void;
  /** A short digest of a body, to recognise it again later. */
  digest(bytes: Uint8Array): string;
  /**
   * MD5 of a body as lower-case hex: what the server's ETags are, checked by `integrity.ts`.
   * Node only: the browser bundle leaves the checks out (see `integrity-off.ts`).
   */
  md5Hex?(bytes: Uint8Array): string;
  /**
   * The same MD5 for a large body, taken a slice at a time with a turn of the event loop between
   * slices (`hash-slices.ts`), so that no turn blocks for longer than one slice. Rejects with the
   * signal's reason when it is aborted meanwhile. `integrity.ts` calls it for bodies of
   * `md5SlicedFrom` bytes or more; smaller ones keep `md5Hex`'s single synchronous call (no
   * promise: it runs on every request). Node and the browser's integrity add-on only, as `md5Hex`.
   */
  md5HexSliced?(bytes: Uint8Array, signal?: AbortSignal): Promise<string>;
  /** The body size in bytes from which `md5HexSliced` takes over from `md5Hex`. */
  md5SlicedFrom?: number;
  /** HMAC-SHA256 of a message, as lower-case hex. */
  hmacSha256Hex(key: string, message: string): Promise<string>;
  /**
   * Words added to a network error about `url` that did not time out: in the browser, which host
   * could not be reached and why that usually is (the browser itself says nothing more).
   */
  networkHint(url: string): string | undefined;
}
