/**
 * The one rule, shared by the SDK and the CLI, for where data goes:
 *
 * 1. An explicit local folder (`storageDir` / `--storage-dir`) is local storage.
 * 2. An explicit API URL (`apiUrl` / `--api-url`), `forceCloud` (`--cloud`), `APIFY_IS_AT_HOME`
 *    (set on the Apify platform) or `APIFY_API_BASE_URL` selects the API, at that URL
 *    (default https://api.apify.com), with the token from `token` or `APIFY_TOKEN`.
 * 3. Anything else is local storage in `APIFY_LOCAL_STORAGE_DIR`, else `CRAWLEE_STORAGE_DIR`,
 *    else `./storage`. A token alone does not send data to the platform.
 *
 * The default store and the input key come from the environment on either side.
 */
import path from 'node:path';

import { resolveStorageDir } from '../storage/index.js';
import { KeyValueStoreError } from './errors.js';

export type Env = Record<string, string | undefined>;

export const DEFAULT_API_BASE_URL = 'https://api.apify.com';
/** Name of the store opened when no name or id is given and the environment names none. */
export const DEFAULT_STORE_NAME = 'default';
/** Key of the job's input when the environment names none. */
export const DEFAULT_INPUT_KEY = 'INPUT';

export interface LocationOptions {
  storageDir?: string;
  apiUrl?: string;
  token?: string;
  forceCloud?: boolean;
}

export type Location =
  | { kind: 'local'; storageDir: string }
  | { kind: 'cloud'; baseUrl: string; token: string | undefined };

/** `1`, `true` or `yes` (any case); the platform sets `APIFY_IS_AT_HOME=1`. */
function isTrue(value: string | undefined): boolean {
  return !!value && /^(1|true|yes)$/i.test(value.trim());
}

/** Where data goes for these options and this environment; see the module comment. */
export function resolveLocation(options: LocationOptions = {}, env: Env = process.env): Location {
  if (options.storageDir !== undefined) {
    if (options.apiUrl !== undefined || options.forceCloud) {
      throw new KeyValueStoreError('invalid-argument', 'Use either a local storage folder or an API, not both.');
    }
    return { kind: 'local', storageDir: path.resolve(options.storageDir) };
  }
  const envUrl = env.APIFY_API_BASE_URL || undefined;
  const cloud = options.apiUrl !== undefined || options.forceCloud || isTrue(env.APIFY_IS_AT_HOME) || envUrl !== undefined;
  if (!cloud) return { kind: 'local', storageDir: resolveStorageDir(env) };
  const baseUrl = (options.apiUrl ?? envUrl ?? DEFAULT_API_BASE_URL).replace(/\/+$/, '');
  return { kind: 'cloud', baseUrl, token: options.token ?? (env.APIFY_TOKEN || undefined) };
}

/** The default store: the run's store named by the environment, else the store named `default`. */
export function defaultStoreRef(env: Env = process.env): string {
  return env.ACTOR_DEFAULT_KEY_VALUE_STORE_ID || env.APIFY_DEFAULT_KEY_VALUE_STORE_ID || DEFAULT_STORE_NAME;
}

/** The input record's key: `ACTOR_INPUT_KEY`, `APIFY_INPUT_KEY`, `CRAWLEE_INPUT_KEY`, else `INPUT`. */
export function inputKey(env: Env = process.env): string {
  return env.ACTOR_INPUT_KEY || env.APIFY_INPUT_KEY || env.CRAWLEE_INPUT_KEY || DEFAULT_INPUT_KEY;
}
