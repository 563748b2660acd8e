/**
 * GET, HEAD, PUT and DELETE of single objects, signed here (`sigv4.ts`) and sent through the
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

import { DEFAULT_MAX_ATTEMPTS, type S3StorageOptions } from './config.js';
import { encodeObjectPath, SigV4Signer, type S3Credentials } from './sigv4.js';

/** The part of the SDK's HTTP handler (`@smithy/node-http-handler`) used here. */
export interface HttpHandlerLike {
  handle(request: {
    protocol: string;
    hostname: string;
    port?: number;
    path: string;
    method: string;
    headers: Record<string, string>;
    body?: Uint8Array;
    query: Record<string, string>;
  }): Promise<{ response: { statusCode: number; headers: Record<string, string>; body: unknown } }>;
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
  private readonly signer: SigV4Signer;
  private readonly endpoint: URL;
  private readonly pathStyle: boolean;
  private readonly maxAttempts: number;

  constructor(
    private readonly options: S3StorageOptions,
    private readonly handler: HttpHandlerLike,
    private readonly credentials: () => Promise<S3Credentials>,
    private readonly onCall: (attempts: number, error: S3CallError | null) => void,
  ) {
    const region = options.region ?? 'us-east-1';
    this.signer = new SigV4Signer(region);
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
        const signed: Record<string, string> = { ...headers, host: port ? `${hostname}:${port}` : hostname };
        this.signer.sign(method, path, signed, body, await this.credentials());
        const { response } = await this.handler.handle({ protocol: this.endpoint.protocol, hostname, port, path, method, headers: signed, body, query: {} });
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

