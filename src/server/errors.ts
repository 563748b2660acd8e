/**
 * API errors as the wire contract spells them: an HTTP status plus a `{ error: { type, message } }` body.
 * Everything a handler throws ends up here, so a response is always well-formed.
 */

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
    /** Extra response headers, e.g. `Allow` on 405. */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const invalidInput = (message: string) => new ApiError(400, 'invalid-input', message);

export const invalidRecordKey = (message = 'Record key contains invalid character.') =>
  new ApiError(400, 'invalid-record-key', message);

export const tokenNotProvided = () =>
  new ApiError(401, 'token-not-provided', 'Authentication token was not provided.');

export const invalidToken = () => new ApiError(401, 'invalid-token', 'Authentication token is not valid.');

export const insufficientPermissions = () =>
  new ApiError(403, 'insufficient-permissions', 'You do not have permission to perform this action.');

export const storeNotFound = () =>
  new ApiError(404, 'record-or-token-not-found', 'Key-value store was not found.');

export const recordNotFound = () => new ApiError(404, 'record-not-found', 'Record was not found.');

export const pageNotFound = () =>
  new ApiError(404, 'page-not-found', 'This API end-point does not exist.');

export const methodNotAllowed = (allowed: readonly string[]) => {
  const list = ['OPTIONS', ...allowed].join(',');
  return new ApiError(
    405,
    'method-not-allowed',
    `This API end-point can only be accessed using the following HTTP methods: ${list}`,
    { Allow: list.replaceAll(',', ', ') },
  );
};

export const unsupportedEncoding = (encoding: string) =>
  new ApiError(
    415,
    'unsupported-content-encoding',
    `Content-Encoding "${encoding.slice(0, 50)}" is not supported. Use br, gzip, deflate or identity.`,
  );

/**
 * The 413 answer. It names the way around the limit: the direct upload URL for one record,
 * or a bigger limit for the whole server.
 */
export function payloadTooLarge(method: string, limit: number, actual?: number): ApiError {
  const actualText = actual === undefined ? `more than ${limit} bytes after decoding` : `${actual} bytes`;
  return new ApiError(
    413,
    'request-too-large',
    `The ${method} payload is too large (limit: ${limit} bytes, actual length: ${actualText}). ` +
      'Upload larger records through the URL from GET /v2/key-value-stores/{storeId}/records/{recordKey}/direct-upload-url, ' +
      'or start the server with a higher --max-payload-bytes.',
  );
}

/** The 413 answer of a direct upload URL, whose limit is the server's `maxDirectUploadBytes`. */
export function directUploadTooLarge(limit: number, actual?: number): ApiError {
  const actualText = actual === undefined ? `more than ${limit} bytes after decoding` : `${actual} bytes`;
  return new ApiError(
    413,
    'request-too-large',
    `The upload is too large for a direct upload URL (limit: ${limit} bytes, actual length: ${actualText}).`,
  );
}

export const internalError = () =>
  new ApiError(500, 'internal-server-error', 'The server failed to process the request.');

/** Storage error codes -> API errors. Matched by name and code, not `instanceof`, so copies of the module still match. */
export function fromStorageError(err: unknown): ApiError | null {
  if (!err || typeof err !== 'object') return null;
  const { name, code, message } = err as { name?: string; code?: string; message?: string };
  if (name === 'PayloadTooLargeError') return null; // needs the request method; handled by the caller
  if (name !== 'StorageError') return null;
  const text = typeof message === 'string' ? message : 'Invalid input.';
  switch (code) {
    case 'invalid-record-key':
      return invalidRecordKey(text);
    case 'invalid-store-name':
    case 'invalid-input':
      return invalidInput(text);
    case 'store-not-found':
      return storeNotFound();
    case 'record-not-found':
      return recordNotFound();
    case 'precondition-failed':
      return new ApiError(412, 'precondition-failed', text);
    case 'name-not-unique':
      return new ApiError(400, 'name-not-unique', text);
    case 'insufficient-storage':
      return new ApiError(507, 'insufficient-storage', text);
    case 'storage-unavailable': {
      const secs = (err as { retryAfterSecs?: number }).retryAfterSecs ?? 1;
      return new ApiError(503, 'storage-unavailable', text, { 'Retry-After': String(secs) });
    }
    case 'storage-read-only':
      return new ApiError(503, 'storage-read-only', text);
    case 'storage-io-error':
      return new ApiError(500, 'storage-io-error', text);
    default:
      return null;
  }
}

export function isPayloadTooLarge(err: unknown): err is { limit: number; received: number } {
  return !!err && typeof err === 'object' && (err as { name?: string }).name === 'PayloadTooLargeError';
}
