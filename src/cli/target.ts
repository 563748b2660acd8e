/**
 * Where a command reads and writes, by the rule the SDK uses too (src/sdk/location.ts): local
 * storage unless `--api-url`, `--cloud`, `APIFY_IS_AT_HOME` or `APIFY_API_BASE_URL` names an API.
 * Also the options every command shares (--json, --quiet, --timeout, ...).
 */
import { statSync } from 'node:fs';

import { Command, Option } from 'commander';

import type { StorageBackend, StoreSummary } from '../sdk/backend.js';
import { LocalBackend } from '../sdk/local-backend.js';
import { resolveLocation } from '../sdk/location.js';
import { assertValidStoreName } from '../sdk/validation.js';
import { CliError, EXIT } from './errors.js';

export interface TargetOptions {
  storageDir?: string;
  apiUrl?: string;
  cloud?: boolean;
  token?: string;
  maxRetries?: number;
  timeout?: number;
  json?: boolean;
  quiet?: boolean;
}

/**
 * What a command does to the storage: `read` writes nothing; `update` changes what exists;
 * `create` may make the storage folder and stores. `read` and `update` need the folder to exist.
 */
export type Access = 'read' | 'update' | 'create';

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

function parseSeconds(value: string): number {
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || !(n > 0) || n > 86_400) {
    throw new CliError(`--timeout must be a number of seconds above 0, at most 86400 (got ${JSON.stringify(value)}).`, EXIT.USAGE);
  }
  return n;
}

export const parseConcurrency = parseCount('--concurrency', 1, 64);

/** Adds the target and output options every command has. */
export function withTargetOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--storage-dir <dir>', 'local storage directory (default: $APIFY_LOCAL_STORAGE_DIR, $CRAWLEE_STORAGE_DIR or ./storage)'),
    )
    .addOption(new Option('--api-url <url>', 'use the API at this URL instead of local storage (default: $APIFY_API_BASE_URL)'))
    .addOption(new Option('--cloud', 'use the API even without --api-url (at $APIFY_API_BASE_URL, else https://api.apify.com)'))
    .addOption(new Option('--token <token>', 'API token (default: $APIFY_TOKEN; prefer the variable, flags show in process lists)'))
    .addOption(
      new Option('--max-retries <n>', 'retries of a failed API request (default: the client default)').argParser(
        parseCount('--max-retries', 0, 100),
      ),
    )
    .addOption(new Option('--timeout <secs>', 'time limit of each API request attempt, in seconds').argParser(parseSeconds))
    .addOption(new Option('--json', 'print the result as JSON on stdout'))
    .addOption(new Option('-q, --quiet', 'print no notices or progress (errors still go to stderr)'));
}

/**
 * The one place the CLI opens storage: the backend the options and environment point at. The API
 * client (and axios with it) is loaded only for an API target: local commands start faster.
 */
export async function openTarget(
  options: TargetOptions,
  access: Access,
  env: Record<string, string | undefined> = process.env,
): Promise<Target> {
  if (options.storageDir !== undefined && (options.apiUrl !== undefined || options.cloud)) {
    throw new CliError('Use either --storage-dir (local files) or --api-url / --cloud (an API), not both.', EXIT.USAGE);
  }
  const where = resolveLocation({ storageDir: options.storageDir, apiUrl: options.apiUrl, token: options.token, forceCloud: options.cloud }, env);
  if (where.kind === 'local') {
    // Reading never creates the storage folder: a typo in a path is an error, not an empty listing.
    if (access !== 'create' && !statSync(where.storageDir, { throwIfNoEntry: false })?.isDirectory()) {
      throw new CliError(`No storage folder at ${where.storageDir} (check --storage-dir or APIFY_LOCAL_STORAGE_DIR).`, EXIT.USAGE);
    }
    return { backend: new LocalBackend(where.storageDir), secrets: [] };
  }
  let url: URL;
  try {
    url = new URL(where.baseUrl);
  } catch {
    throw new CliError(`Not a valid API URL: ${JSON.stringify(where.baseUrl)}`, EXIT.USAGE);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CliError(`The API URL must start with http:// or https:// (got ${JSON.stringify(where.baseUrl)})`, EXIT.USAGE);
  }
  const [{ ApifyClient }, { CloudBackend }] = await Promise.all([import('../index.js'), import('../sdk/cloud-backend.js')]);
  // Batch commands (push, pull, bulk deletes) run many requests at once: after the first 429 they
  // pace themselves to the rate the API allows instead of hammering it.
  const client = new ApifyClient({
    baseUrl: where.baseUrl,
    token: where.token,
    maxRetries: options.maxRetries,
    timeoutSecs: options.timeout,
    rateLimit: 'adaptive',
  });
  return { backend: new CloudBackend(client, client.baseUrl), secrets: where.token ? [where.token] : [] };
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
