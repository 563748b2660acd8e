/**
 * The client's errors. Every error the client throws on purpose is one of three classes, each
 * with a fixed `name` so callers can tell them apart without `instanceof` (an ESM and a CJS copy
 * of the package may both be loaded, and their classes are then different objects).
 */

/** Text put in place of a secret in error messages and paths. */
export const REDACTED = '[REDACTED]';

/** `name` of {@link ApifyApiError}. */
export const API_ERROR_NAME = 'ApifyApiError';
/** `name` of {@link ApifyNetworkError}. */
export const NETWORK_ERROR_NAME = 'ApifyNetworkError';
/** `name` of {@link ApifyArgumentError}. */
export const ARGUMENT_ERROR_NAME = 'ApifyArgumentError';

/** What every error of this package carries. */
export interface ApifyKvErrorFields {
  /** Stable class name: `ApifyApiError`, `ApifyNetworkError` or `ApifyArgumentError`. */
  readonly name: string;
  /** Short machine-readable kind, e.g. `record-not-found`, `timeout`, `invalid-argument`. */
  readonly type: string;
}

/** Details of a request, as kept on the errors about it. Secrets are already redacted. */
export interface RequestDetails {
  /** HTTP method, upper case. */
  method: string;
  /** Path of the request (no origin, no query string), with any secret redacted. */
  path: string;
  /** 1 for the first attempt; the attempt that produced this error. */
  attempt: number;
  /** True when the failure was not retried because the client's retry budget was empty (an outage). */
  retryBudgetExhausted?: boolean;
}

/** The request part of an error message: `GET /path, attempt 2[, retry budget exhausted]`. */
function requestPart(details: RequestDetails): string {
  const budget = details.retryBudgetExhausted ? ', retry budget exhausted' : '';
  return `${details.method} ${details.path}, attempt ${details.attempt}${budget}`;
}

/** What an {@link ApifyApiError} is made of. @internal */
export interface ApiErrorDetails extends RequestDetails {
  statusCode: number;
  type: string;
  serverMessage: string;
  /** The client method that sent the request, e.g. `KeyValueStoreClient.getRecord`. */
  clientMethod?: string;
  /** The `data` of the server's error body, when it has one. */
  data?: Record<string, unknown>;
}

/**
 * The server answered with an error status (after any retries the policy allowed). It carries
 * apify-client v2's fields (`statusCode`, `type`, `message` as the server's text, `attempt`,
 * `httpMethod`, `path`, `clientMethod`, `data`, `originalStack`) and this client's own
 * (`method`, `serverMessage`). `String(error)` adds the request to the server's text.
 */
export class ApifyApiError extends Error implements ApifyKvErrorFields {
  override readonly name = API_ERROR_NAME;
  /** HTTP status code of the answer. */
  declare readonly statusCode: number;
  /** The server's error type, e.g. `record-not-found`; `unknown-error` when it gave none. */
  declare readonly type: string;
  /** HTTP method of the request, upper case. */
  declare readonly method: string;
  /** HTTP method of the request, lower case (apify-client v2's field). */
  declare readonly httpMethod: string;
  /** Path of the request (no query), with secrets redacted. */
  declare readonly path: string;
  /** Which attempt got this answer (1 = the first). */
  declare readonly attempt: number;
  /** True when this answer was not retried because the client's retry budget was empty. */
  declare readonly retryBudgetExhausted?: boolean;
  /** The server's own message (also `message`). */
  declare readonly serverMessage: string;
  /** The client method that sent the request, e.g. `KeyValueStoreClient.getRecord`; `unknown` when not known. */
  declare readonly clientMethod: string;
  /** The `data` of the server's error body, when it has one. */
  declare readonly data: Record<string, unknown> | undefined;
  /** The stack of the error as thrown, without its first line. */
  declare readonly originalStack: string;

  /** @internal */
  constructor(details: ApiErrorDetails, cause?: unknown) {
    super(details.serverMessage, cause === undefined ? undefined : { cause });
    const { clientMethod, data, ...fields } = details;
    Object.assign(this, fields, {
      httpMethod: details.method.toLowerCase(),
      clientMethod: clientMethod ?? 'unknown',
      data,
    });
    const stack = this.stack ?? '';
    const newline = stack.indexOf('\n');
    this.originalStack = newline < 0 ? '' : stack.slice(newline);
    this.stack = `${this.toString()}${this.originalStack}`;
  }

  /** The server's text with the status, type and request, for logs. */
  override toString(): string {
    return `${this.name}: ${this.serverMessage} (${this.statusCode} ${this.type}; ${requestPart(this)})`;
  }
}

/** Kinds of {@link ApifyNetworkError}. */
export type NetworkErrorType = 'timeout' | 'network-error';

/**
 * No usable answer came back: the connection failed, was reset, or timed out, on the last
 * attempt the retry policy allowed. `cause` is the transport's own error (secrets redacted).
 */
export class ApifyNetworkError extends Error implements ApifyKvErrorFields {
  override readonly name = NETWORK_ERROR_NAME;
  /** `timeout` when the attempt ran out of time, else `network-error`. */
  declare readonly type: NetworkErrorType;
  /** The transport's error code when it gave one, e.g. `ECONNRESET`, `ETIMEDOUT`. */
  declare readonly code: string | undefined;
  /** HTTP method of the request. */
  declare readonly method: string;
  /** Path of the request, with secrets redacted. */
  declare readonly path: string;
  /** Which attempt failed last (1 = the first). */
  declare readonly attempt: number;
  /** True when this failure was not retried because the client's retry budget was empty. */
  declare readonly retryBudgetExhausted?: boolean;

  /** @internal */
  constructor(
    details: RequestDetails & { type: NetworkErrorType; code: string | undefined; detail: string },
    cause?: unknown,
  ) {
    super(
      `${details.type === 'timeout' ? 'Request timed out' : 'Network error'}: ${details.detail} (${requestPart(details)})`,
      cause === undefined ? undefined : { cause },
    );
    const { detail, ...fields } = details;
    Object.assign(this, fields);
  }
}

/** A method was called with bad input. Thrown before any request is sent. */
export class ApifyArgumentError extends Error implements ApifyKvErrorFields {
  override readonly name = ARGUMENT_ERROR_NAME;
  /**
   * `invalid-argument`, or `conditional-writes-unsupported` for a condition (`ifMatch`,
   * `ifNoneMatch`) the server would not honour.
   */
  readonly type: 'invalid-argument' | 'conditional-writes-unsupported';
  /** Name of the offending argument, e.g. `key`, `storeId`. */
  declare readonly argument: string;

  /** @internal */
  constructor(argument: string, message: string, type: ApifyArgumentError['type'] = 'invalid-argument') {
    super(message);
    this.argument = argument;
    this.type = type;
  }
}

function hasName(error: unknown, name: string): boolean {
  return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === name;
}

/** True for an {@link ApifyApiError}, from any copy of this package. */
export function isApifyApiError(error: unknown): error is ApifyApiError {
  return hasName(error, API_ERROR_NAME);
}

/** True for an {@link ApifyNetworkError}, from any copy of this package. */
export function isApifyNetworkError(error: unknown): error is ApifyNetworkError {
  return hasName(error, NETWORK_ERROR_NAME);
}

/** True for an {@link ApifyArgumentError}, from any copy of this package. */
export function isApifyArgumentError(error: unknown): error is ApifyArgumentError {
  return hasName(error, ARGUMENT_ERROR_NAME);
}

/**
 * Removes secrets from a text: every occurrence of the given secrets and any `token=` query
 * parameter value.
 * @internal
 */
export function redact(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text.replace(/([?&]token=)[^&#\s"']+/gi, `$1${REDACTED}`);
  for (const secret of secrets) {
    // Very short strings would redact ordinary words; a real token is long.
    if (secret && secret.length >= 4) out = out.split(secret).join(REDACTED);
  }
  return out;
}
