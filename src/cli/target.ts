/**
 * Where a command reads and writes: the local storage directory (the default, no server
 * needed) or an API (`--api-url` / `APIFY_API_BASE_URL`, with `--token` / `APIFY_TOKEN`).
 */
import path from 'node:path';

import { Command, Option } from 'commander';

import type { StorageBackend, StoreSummary } from '../sdk/backend.js';
import { LocalBackend } from '../sdk/local-backend.js';
import { assertValidStoreName } from '../sdk/validation.js';
import { resolveStorageDir } from '../storage/index.js';
import { CliError, EXIT } from './errors.js';

export interface TargetOptions {
  storageDir?: string;
  apiUrl?: string;
  token?: string;
  maxRetries?: number;
}

export interface Target {
  backend: StorageBackend;
  /** Secrets never to print. */
  secrets: string[];
}

function parseCount(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max) {
      throw new CliError(`${name} must be an integer from ${min} to ${max} (got ${JSON.stringify(value)}).`, EXIT.USAGE);
    }
    return n;
  };
}

export const parseConcurrency = parseCount('--concurrency', 1, 64);

/** Adds the target options to a command. */
export function withTargetOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--storage-dir <dir>', 'local storage directory (default: $APIFY_LOCAL_STORAGE_DIR, $CRAWLEE_STORAGE_DIR or ./storage)'),
    )
    .addOption(new Option('--api-url <url>', 'use the API at this URL instead of local storage (default: $APIFY_API_BASE_URL)'))
    .addOption(new Option('--token <token>', 'API token (default: $APIFY_TOKEN; prefer the variable, flags show in process lists)'))
    .addOption(
      new Option('--max-retries <n>', 'retries of a failed API request (default: the client default)').argParser(
        parseCount('--max-retries', 0, 100),
      ),
    );
}

/**
 * The backend the options and environment point at. The API client (and axios with it) is loaded
 * only for an API target: local commands start faster without it.
 */
export async function openTarget(options: TargetOptions, env: Record<string, string | undefined> = process.env): Promise<Target> {
  const token = options.token ?? (env.APIFY_TOKEN || undefined);
  const apiUrl = options.apiUrl ?? (options.storageDir === undefined ? env.APIFY_API_BASE_URL || undefined : undefined);
  if (options.storageDir !== undefined && options.apiUrl !== undefined) {
    throw new CliError('Use either --storage-dir (local files) or --api-url (an API), not both.', EXIT.USAGE);
  }
  if (apiUrl === undefined) {
    const dir = options.storageDir !== undefined ? path.resolve(options.storageDir) : resolveStorageDir(env);
    return { backend: new LocalBackend(dir), secrets: [] };
  }
  let url: URL;
  try {
    url = new URL(apiUrl);
  } catch {
    throw new CliError(`Not a valid API URL: ${JSON.stringify(apiUrl)}`, EXIT.USAGE);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CliError(`The API URL must start with http:// or https:// (got ${JSON.stringify(apiUrl)})`, EXIT.USAGE);
  }
  const [{ ApifyClient }, { CloudBackend }] = await Promise.all([import('../index.js'), import('../sdk/cloud-backend.js')]);
  const client = new ApifyClient({ baseUrl: apiUrl.replace(/\/+$/, ''), token, maxRetries: options.maxRetries });
  return { backend: new CloudBackend(client, client.baseUrl), secrets: token ? [token] : [] };
}

/** A store that must exist. */
export async function findStore(backend: StorageBackend, ref: string): Promise<StoreSummary> {
  const store = await backend.getStore(ref);
  if (!store) throw new CliError(`Store ${JSON.stringify(ref)} not found in ${backend.location}.`, EXIT.NOT_FOUND);
  return store;
}

/** A store to write to: an existing one, or a new store of that name. */
export async function findOrCreateStore(
  backend: StorageBackend,
  ref: string,
  notice: (message: string) => void,
): Promise<StoreSummary> {
  const store = await backend.getStore(ref);
  if (store) return store;
  assertValidStoreName(ref); // neither an existing store nor a possible new name
  const { store: created, created: isNew } = await backend.getOrCreateStore(ref);
  if (isNew) notice(`Created store ${JSON.stringify(ref)} (id ${created.id}).`);
  return created;
}
