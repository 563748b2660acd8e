/**
 * GET, HEAD, PUT and DELETE of single objects, signed with the SDK's SigV4 signer
 * (`@smithy/signature-v4`, set up as the S3 client sets up its own) and sent through the
 * S3 client's own HTTP handler, so they keep its connection pool and its connect, request and
 * socket timeouts. A record's put and get are one such request each: going through the full
 * SDK command stack (serializers, endpoint rules, a dozen middlewares) cost about as much CPU
 * as everything else the server does for that record, and on a busy machine CPU is speed.
 *
 * Retries follow the SDK's standard mode: network failures, timeouts, 5xx, 429 and throttling
 * codes are tried again, up to `maxAttempts` in all, after a full-jitter exponential pause.
 * Failures are thrown shaped as the SDK's (`name` = S3's error code, `$metadata.httpStatusCode`,
 * `$metadata.attempts`), so `s3-client.ts` tells and maps them the same way.
 */
import type { Readable } from 'node:stream';

import { encodePathSegment } from '../../client/http/wire.js';
import { DEFAULT_MAX_ATTEMPTS, type S3StorageOptions } from './config.js';
import type { S3Signer } from './peers.js';

/** A request as the SDK's signer and HTTP handler take it. */
export interface ObjectHttpRequest {
  protocol: string;
  hostname: string;
  port?: number;
  path: string;
  method: string;
  headers: Record<string, string>;
  body?: Uint8Array;
  query: Record<string, string>;
}

/** The part of the SDK's HTTP handler (`@smithy/node-http-handler`) used here. */
export interface HttpHandlerLike {
  handle(request: ObjectHttpRequest): Promise<{ response: { statusCode: number; headers: Record<string, string>; body: unknown } }>;
}

/** The part of `@smithy/signature-v4`'s `SignatureV4` used here. */
export interface RequestSignerLike {
  sign(request: ObjectHttpRequest, options: { unsignableHeaders: Set<string> }): Promise<ObjectHttpRequest>;
}

/**
 * Sent but not signed: SigV4 does not ask for it, and servers canonicalize blanks in a value
 * differently (RGW 16.2 refuses a Content-Type with a tab that AWS's rules would accept).
 */
const UNSIGNED_HEADERS = new Set(['content-type']);

type SignerSettings = ConstructorParameters<S3Signer['SignatureV4']>[0];

/**
 * The signer for these requests, set up as the S3 client sets up its own: its credentials
 * provider, region and SHA-256, service `s3`, and the path signed as sent (S3 does not encode
 * it a second time, hence `uriEscapePath: false`, the client's `signingEscapePath`).
 */
export function createObjectSigner(
  lib: S3Signer,
  client: Pick<SignerSettings, 'credentials' | 'region' | 'sha256'> & { signingEscapePath?: boolean },
): RequestSignerLike {
  const signer = new lib.SignatureV4({
    service: 's3',
    credentials: client.credentials,
    region: client.region,
    sha256: client.sha256,
    uriEscapePath: client.signingEscapePath ?? false,
  });
  return { sign: (request, options) => signer.sign(request, options) as Promise<ObjectHttpRequest> };
}

/** A key (or bucket) as S3 and SigV4 want it in the path: RFC 3986, `/` kept between parts. */
export function encodeObjectPath(path: string): string {
  return path.split('/').map(encodePathSegment).join('/');
}

export interface ObjectResponse {
  status: number;
  headers: Record<string, string>;
  body: Readable;
}

/** An S3 error answer or a transport failure, shaped as the SDK throws them. */
export interface S3CallError extends Error {
  code?: string;
  $metadata: { httpStatusCode?: number; attempts?: number };
}

const RETRY_BASE_MILLIS = 100;
const THROTTLED_RETRY_BASE_MILLIS = 500;
const RETRY_CAP_MILLIS = 20_000;
const THROTTLING = new Set(['SlowDown', 'Throttling', 'ThrottlingException', 'TooManyRequestsException', 'RequestLimitExceeded']);
const TRANSIENT_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'InternalError', 'ServiceUnavailable']);
const TRANSIENT_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED']);
/** Longest error document read from S3 (they are a few hundred bytes). */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

export class ObjectRequests {
  private readonly endpoint: URL;
  private readonly pathStyle: boolean;
  private readonly maxAttempts: number;

  constructor(
    private readonly options: S3StorageOptions,
    private readonly handler: HttpHandlerLike,
    private readonly signer: RequestSignerLike,
    private readonly onCall: (attempts: number, error: S3CallError | null) => void,
  ) {
    const region = options.region ?? 'us-east-1';
    this.endpoint = new URL(options.endpoint ?? `https://s3.${region}.amazonaws.com`);
    // A dotted bucket name would not match the TLS certificate of a virtual host.
    this.pathStyle = options.forcePathStyle === true || options.bucket.includes('.');
    this.maxAttempts = Math.max(1, options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS);
  }

  /**
   * Sends one request on object `key`; resolves with any answer below 300 (and 304), else
   * throws. The caller reads or discards the body.
   */
  async send(method: 'GET' | 'HEAD' | 'PUT' | 'DELETE', key: string, headers: Record<string, string> = {}, body?: Uint8Array): Promise<ObjectResponse> {
    const base = this.endpoint.pathname.replace(/\/+$/, '');
    const hostname = this.pathStyle ? this.endpoint.hostname : `${this.options.bucket}.${this.endpoint.hostname}`;
    const path = `${base}${this.pathStyle ? `/${encodeObjectPath(this.options.bucket)}` : ''}/${encodeObjectPath(key)}`;
    const port = this.endpoint.port ? Number(this.endpoint.port) : undefined;
    for (let attempt = 1; ; attempt++) {
      try {
        const request = { protocol: this.endpoint.protocol, hostname, port, path, method, headers: { ...headers, host: port ? `${hostname}:${port}` : hostname }, body, query: {} };
        const signed = await this.signer.sign(request, { unsignableHeaders: UNSIGNED_HEADERS });
        const { response } = await this.handler.handle(signed);
        const answer = { status: response.statusCode, headers: response.headers, body: response.body as Readable };
        if (answer.status < 300 || answer.status === 304) {
          this.onCall(attempt, null);
          return answer;
        }
        throw await errorOf(answer, method);
      } catch (caught) {
        const error = asCallError(caught);
        error.$metadata.attempts = attempt;
        if (attempt >= this.maxAttempts || !isRetryable(error)) {
          this.onCall(attempt, error);
          throw error;
        }
        const base = THROTTLING.has(error.name) || error.$metadata.httpStatusCode === 429 ? THROTTLED_RETRY_BASE_MILLIS : RETRY_BASE_MILLIS;
        await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(RETRY_CAP_MILLIS, base * 2 ** attempt)));
      }
    }
  }
}

/** The error an S3 answer of 300 or more stands for; its XML body names the code. */
async function errorOf(answer: ObjectResponse, method: string): Promise<S3CallError> {
  let text = '';
  if (method !== 'HEAD') {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of answer.body) {
      size += (chunk as Buffer).byteLength;
      if (size > MAX_ERROR_BODY_BYTES) break;
      chunks.push(chunk as Buffer);
    }
    text = Buffer.concat(chunks).toString('utf8');
  } else {
    answer.body.resume();
  }
  const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1] ?? statusName(answer.status);
  const message = /<Message>([^<]*)<\/Message>/.exec(text)?.[1] ?? `S3 answered ${answer.status}.`;
  const error = new Error(message) as S3CallError;
  error.name = code;
  error.$metadata = { httpStatusCode: answer.status };
  return error;
}

function statusName(status: number): string {
  if (status === 404) return 'NotFound';
  if (status === 412) return 'PreconditionFailed';
  if (status === 503) return 'ServiceUnavailable';
  if (status >= 500) return 'InternalError';
  return `Http${status}`;
}

function asCallError(error: unknown): S3CallError {
  const shaped = (error instanceof Error ? error : new Error(String(error))) as S3CallError;
  shaped.$metadata ??= {};
  return shaped;
}

function isRetryable(error: S3CallError): boolean {
  const status = error.$metadata.httpStatusCode;
  if (status !== undefined) return status >= 500 || status === 429 || THROTTLING.has(error.name) || TRANSIENT_NAMES.has(error.name);
  return (
    TRANSIENT_NAMES.has(error.name) ||
    (error.code !== undefined && TRANSIENT_CODES.has(error.code)) ||
    /socket hang up/i.test(error.message)
  );
}

