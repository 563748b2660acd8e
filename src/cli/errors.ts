/**
 * Exit codes and the one place that turns any error into a message for stderr.
 *
 *   0 success · 1 other failure · 2 bad input or usage · 3 store or record not found
 *   4 authentication or permission failure · 5 network failure (after retries)
 */
export const EXIT = {
  OK: 0,
  FAILURE: 1,
  USAGE: 2,
  NOT_FOUND: 3,
  AUTH: 4,
  NETWORK: 5,
} as const;

/** An error the CLI raises itself, with its exit code. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

interface ErrorLike {
  name?: unknown;
  type?: unknown;
  code?: unknown;
  statusCode?: unknown;
  serverMessage?: unknown;
  message?: unknown;
  path?: unknown;
}

const BAD_INPUT_TYPES = new Set([
  'invalid-record-key',
  'invalid-store-name',
  'invalid-value',
  'invalid-argument',
  'invalid-input',
  'name-not-unique',
  'input-not-found',
]);

/** The message and exit code for an error. Classes are told apart by `name`, not `instanceof`. */
export function describeError(error: unknown): { message: string; exitCode: number } {
  const e = (typeof error === 'object' && error !== null ? error : {}) as ErrorLike;
  const message = typeof e.message === 'string' ? e.message : String(error);

  if (error instanceof CliError) return { message, exitCode: error.exitCode };

  switch (e.name) {
    case 'KeyValueStoreError':
      if (e.type === 'store-not-found') return { message, exitCode: EXIT.NOT_FOUND };
      return { message, exitCode: BAD_INPUT_TYPES.has(e.type as string) ? EXIT.USAGE : EXIT.FAILURE };
    case 'ApifyArgumentError':
      return { message, exitCode: EXIT.USAGE };
    case 'ApifyNetworkError':
      return { message: `Cannot reach the API: ${message}`, exitCode: EXIT.NETWORK };
    case 'ApifyApiError': {
      const status = typeof e.statusCode === 'number' ? e.statusCode : 0;
      const detail = typeof e.serverMessage === 'string' && e.serverMessage ? e.serverMessage : message;
      if (status === 401 || status === 403) {
        return {
          message: `Authentication failed (${status} ${String(e.type)}): ${detail} Check --token or APIFY_TOKEN.`,
          exitCode: EXIT.AUTH,
        };
      }
      if (status === 404) return { message: `Not found: ${detail}`, exitCode: EXIT.NOT_FOUND };
      if (status >= 400 && status < 500 && status !== 408 && status !== 429) {
        return { message: `The API refused the request (${status} ${String(e.type)}): ${detail}`, exitCode: EXIT.USAGE };
      }
      return { message: `The API failed (${status} ${String(e.type)}): ${detail}`, exitCode: EXIT.FAILURE };
    }
    case 'StorageError':
      if (e.code === 'store-not-found' || e.code === 'record-not-found') return { message, exitCode: EXIT.NOT_FOUND };
      if (BAD_INPUT_TYPES.has(e.code as string)) return { message, exitCode: EXIT.USAGE };
      return { message, exitCode: EXIT.FAILURE };
  }

  // File system errors about the user's own files.
  if (e.code === 'ENOENT' && typeof e.path === 'string') {
    return { message: `No such file or directory: ${e.path}`, exitCode: EXIT.USAGE };
  }
  if (e.code === 'EISDIR' && typeof e.path === 'string') {
    return { message: `Is a directory: ${e.path}`, exitCode: EXIT.USAGE };
  }
  if ((e.code === 'EACCES' || e.code === 'EPERM') && typeof e.path === 'string') {
    return { message: `Permission denied: ${e.path}`, exitCode: EXIT.FAILURE };
  }
  return { message, exitCode: EXIT.FAILURE };
}

/** Removes secrets from text that is about to be printed. */
export function redactSecrets(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text.replace(/([?&]token=)[^&#\s"']+/gi, '$1[REDACTED]');
  for (const secret of secrets) if (secret && secret.length >= 4) out = out.split(secret).join('[REDACTED]');
  return out;
}
