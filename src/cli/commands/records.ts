/** `keys`, `get`, `put`, `rm`. */
import { randomBytes } from 'node:crypto';
import { createWriteStream, promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';

import type { BodySource, StorageBackend } from '../../sdk/backend.js';
import { assertValidKey } from '../../sdk/validation.js';
import { CliError, EXIT } from '../errors.js';
import { contentTypeForName, extensionOf } from '../naming.js';
import { describeStore, notice, out, printJson } from '../output.js';
import { findOrCreateStore, findStore, withTargetOptions, type TargetOptions } from '../target.js';
import { writeAndHash } from '../transfer.js';
import { withTarget } from './run.js';

export function addRecordCommands(program: Command): void {
  withTargetOptions(
    program
      .command('keys')
      .description('list the keys of a store, one per line')
      .argument('<store>', 'store id or name')
      .option('--prefix <prefix>', 'only keys that start with this')
      .option('--json', 'print JSON: [{ "key", "size" }]'),
  ).action((ref: string, options: TargetOptions & { prefix?: string; json?: boolean }) =>
    withTarget(options, async (backend) => {
      const store = await findStore(backend, ref);
      const items: Array<{ key: string; size: number }> = [];
      let exclusiveStartKey: string | undefined;
      for (;;) {
        const page = await backend.listKeys(store.id, { exclusiveStartKey, prefix: options.prefix, limit: 1000 });
        if (options.json) items.push(...page.items);
        else if (page.items.length > 0) out(page.items.map((item) => item.key).join('\n'));
        if (page.nextExclusiveStartKey === null || page.items.length === 0) break;
        exclusiveStartKey = page.nextExclusiveStartKey;
      }
      if (options.json) printJson(items);
    }),
  );

  withTargetOptions(
    program
      .command('get')
      .description('write a record to stdout (raw bytes) or to a file')
      .argument('<store>', 'store id or name')
      .argument('<key>', 'record key')
      .option('-o, --output <file>', 'write to this file instead of stdout'),
  ).action((ref: string, key: string, options: TargetOptions & { output?: string }) =>
    withTarget(options, async (backend) => {
      assertValidKey(key);
      const store = await findStore(backend, ref);
      const record = await backend.openRecord(store.id, key);
      if (!record) throw new CliError(`Record ${JSON.stringify(key)} not found in store ${describeStore(store)}.`, EXIT.NOT_FOUND);
      if (options.output) {
        await writeFileViaTemp(options.output, record.stream);
        return;
      }
      try {
        await pipeline(record.stream, process.stdout, { end: false });
      } catch (error) {
        // The reader went away (`| head`): what it wanted was delivered.
        if ((error as NodeJS.ErrnoException).code !== 'EPIPE') throw error;
      }
    }),
  );

  withTargetOptions(
    program
      .command('put')
      .description('store a file, or stdin, as a record (creates a named store if missing)')
      .argument('<store>', 'store id or name')
      .argument('<key>', 'record key')
      .argument('[file]', "file to store; '-' or none reads stdin")
      .option('--content-type <type>', 'content type (default: from the file extension, else the key extension, else application/octet-stream)'),
  ).action((ref: string, key: string, file: string | undefined, options: TargetOptions & { contentType?: string }) =>
    withTarget(options, async (backend) => {
      assertValidKey(key);
      if (options.contentType !== undefined && options.contentType.trim() === '') {
        throw new CliError('--content-type must not be empty.', EXIT.USAGE);
      }
      const fromStdin = file === undefined || file === '-';
      let fileSize: number | undefined;
      if (!fromStdin) {
        const stat = await fsp.stat(file);
        if (!stat.isFile()) throw new CliError(`Not a file: ${file}`, EXIT.USAGE);
        fileSize = stat.size;
      }
      const contentType =
        options.contentType ?? (!fromStdin && extensionOf(path.basename(file)) ? contentTypeForName(path.basename(file)) : contentTypeForName(key));
      const store = await findOrCreateStore(backend, ref, notice);
      if (!fromStdin) {
        await backend.putRecord(store.id, key, { path: file, size: fileSize! }, contentType);
      } else {
        await putFromStdin(backend, store.id, key, contentType);
      }
      out(`Stored record ${JSON.stringify(key)} in store ${describeStore(store)} (${contentType}).`);
    }),
  );

  withTargetOptions(
    program
      .command('rm')
      .description('delete a record')
      .argument('<store>', 'store id or name')
      .argument('<key>', 'record key'),
  ).action((ref: string, key: string, options: TargetOptions) =>
    withTarget(options, async (backend) => {
      assertValidKey(key);
      const store = await findStore(backend, ref);
      if (!(await backend.recordExists(store.id, key))) {
        throw new CliError(`Record ${JSON.stringify(key)} not found in store ${describeStore(store)}.`, EXIT.NOT_FOUND);
      }
      await backend.deleteRecord(store.id, key);
      out(`Deleted record ${JSON.stringify(key)} from store ${describeStore(store)}.`);
    }),
  );
}

/**
 * Locally stdin streams straight into the engine. Through the API it is first spooled to a
 * temp file: then a failed request can be retried and a body over the payload limit can take
 * the direct-upload route, neither of which works with a one-shot stream of unknown size.
 */
async function putFromStdin(backend: StorageBackend, storeId: string, key: string, contentType: string): Promise<void> {
  if (process.stdin.isTTY) notice('Reading the record from stdin; end it with Ctrl-D.');
  if (backend.kind === 'local') {
    await backend.putRecord(storeId, key, process.stdin, contentType);
    return;
  }
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'apify-kv-'));
  try {
    const spooled = path.join(dir, 'stdin');
    const { size } = await writeAndHash(process.stdin, spooled);
    const body: BodySource = { path: spooled, size };
    await backend.putRecord(storeId, key, body, contentType);
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

/** Writes next to the target, then renames, so a failed download never leaves a partial file. */
async function writeFileViaTemp(target: string, source: Readable): Promise<void> {
  const dir = path.dirname(target);
  if (!(await fsp.stat(dir).catch(() => null))?.isDirectory()) {
    source.destroy();
    throw new CliError(`No such directory: ${dir}`, EXIT.USAGE);
  }
  const temp = path.join(dir, `.apify-kv-partial~${randomBytes(6).toString('hex')}`);
  try {
    await pipeline(source, createWriteStream(temp));
    await fsp.rename(temp, target);
  } finally {
    await fsp.rm(temp, { force: true });
  }
}
