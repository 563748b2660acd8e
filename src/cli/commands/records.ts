/** `keys`, `get`, `put`, `rm`. */
import { createWriteStream, promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';

import { decodeBody } from '../../sdk/body.js';
import { inputKey } from '../../sdk/location.js';
import { assertValidKey } from '../../sdk/validation.js';
import { CliError, EXIT } from '../errors.js';
import { isClosedPipe } from '../guard.js';
import { contentTypeForName, DEFAULT_CONTENT_TYPE, extensionOf } from '../naming.js';
import { describeStore, out } from '../output.js';
import { newPartial, partialDone, releasePartial, stalePartials } from '../partial.js';
import { findOrCreateStore, findStore, withTargetOptions, type TargetOptions } from '../target.js';
import { writeAndHash } from '../transfer-io.js';
import { withTarget } from './run.js';

const JSON_TYPE = 'application/json; charset=utf-8';
/** Stdin up to this size is checked for JSON; larger bodies are taken as binary. */
const SNIFF_LIMIT = 9 * 1024 * 1024;

export function addRecordCommands(program: Command): void {
  withTargetOptions(
    program
      .command('keys')
      .description('list the keys of a store, one per line (--json: [{ "key", "size" }])')
      .argument('<store>', 'store id or name')
      .option('--prefix <prefix>', 'only keys that start with this'),
  ).action((ref: string, options: TargetOptions & { prefix?: string }) =>
    withTarget(options, 'read', async (backend, output) => {
      const store = await findStore(backend, ref);
      const items: Array<{ key: string; size: number }> = [];
      let exclusiveStartKey: string | undefined;
      for (;;) {
        const page = await backend.listKeys(store.id, { exclusiveStartKey, prefix: options.prefix, limit: 1000 });
        if (output.json) items.push(...page.items);
        else if (page.items.length > 0) out(page.items.map((item) => item.key).join('\n'));
        if (page.nextExclusiveStartKey === null || page.items.length === 0) break;
        exclusiveStartKey = page.nextExclusiveStartKey;
      }
      if (output.json) output.printJson(items);
    }),
  );

  withTargetOptions(
    program
      .command('get')
      .description('write a record to stdout (raw bytes) or to a file (--json: the record with its value)')
      .argument('<store>', 'store id or name')
      .argument('<key>', 'record key')
      .option('-o, --output <file>', 'write to this file instead of stdout'),
  ).action((ref: string, key: string, options: TargetOptions & { output?: string }) =>
    withTarget(options, 'read', async (backend, output) => {
      assertValidKey(key);
      const store = await findStore(backend, ref);
      const missing = () => new CliError(`Record ${JSON.stringify(key)} not found in store ${describeStore(store)}.`, EXIT.NOT_FOUND);
      if (output.json && !options.output) {
        const record = await backend.getRecord(store.id, key);
        if (!record) throw missing();
        output.printJson({ key, contentType: record.contentType, size: record.body.length, ...jsonValue(record.body, record.contentType, key) });
        return;
      }
      const record = await backend.openRecord(store.id, key);
      if (!record) throw missing();
      if (options.output) {
        const size = await writeFileViaPartial(options.output, record.stream);
        if (output.json) output.printJson({ key, contentType: record.contentType, size, file: options.output });
        return;
      }
      try {
        await pipeline(record.stream, process.stdout, { end: false });
      } catch (error) {
        if (!isClosedPipe(error)) throw error; // the reader went away (`| head`): exit quietly
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
      .option(
        '--content-type <type>',
        'content type (default: from the file extension, else the key extension; stdin that is a JSON object or array is JSON; else application/octet-stream)',
      ),
  ).action((ref: string, key: string, file: string | undefined, options: TargetOptions & { contentType?: string }) =>
    withTarget(options, 'create', async (backend, output) => {
      assertValidKey(key);
      if (options.contentType !== undefined && options.contentType.trim() === '') {
        throw new CliError('--content-type must not be empty.', EXIT.USAGE);
      }
      const fromStdin = file === undefined || file === '-';
      if (fromStdin && process.stdin.isTTY) output.notice('Reading the record from stdin; end it with Ctrl-D.');
      // Stdin is spooled to a temp file first: its type can be sniffed, and a failed request can
      // be retried (a one-shot stream cannot).
      const spoolDir = fromStdin ? await fsp.mkdtemp(path.join(os.tmpdir(), 'apify-kv-')) : undefined;
      try {
        let source: string;
        if (spoolDir) {
          source = path.join(spoolDir, 'stdin');
          await writeAndHash(process.stdin, source);
        } else {
          source = file!;
          const stat = await fsp.stat(source);
          if (!stat.isFile()) throw new CliError(`Not a file: ${source}`, EXIT.USAGE);
        }
        const size = (await fsp.stat(source)).size;
        const contentType = options.contentType ?? (await chooseContentType(key, fromStdin ? null : source, source, size));
        const store = await findOrCreateStore(backend, ref, output.notice);
        await backend.putRecord(store.id, key, { path: source, size }, contentType);
        if (output.json) return output.printJson({ store: { id: store.id, name: store.name }, key, contentType, size });
        output.result(`Stored record ${JSON.stringify(key)} in store ${describeStore(store)} (${contentType}).`);
      } finally {
        if (spoolDir) await fsp.rm(spoolDir, { recursive: true, force: true });
      }
    }),
  );

  withTargetOptions(
    program
      .command('rm')
      .description('delete a record')
      .argument('<store>', 'store id or name')
      .argument('<key>', 'record key'),
  ).action((ref: string, key: string, options: TargetOptions) =>
    withTarget(options, 'update', async (backend, output) => {
      assertValidKey(key);
      const store = await findStore(backend, ref);
      if (!(await backend.recordExists(store.id, key))) {
        throw new CliError(`Record ${JSON.stringify(key)} not found in store ${describeStore(store)}.`, EXIT.NOT_FOUND);
      }
      await backend.deleteRecord(store.id, key);
      if (output.json) return output.printJson({ deleted: true, store: { id: store.id, name: store.name }, key });
      output.result(`Deleted record ${JSON.stringify(key)} from store ${describeStore(store)}.`);
    }),
  );
}

/**
 * The content type of a `put` without --content-type: the file's extension, else the key's.
 * Stdin to a key with no type of its own is JSON when it is a JSON object or array; the input
 * key (`INPUT`) must be JSON, as the Apify SDK and CLI read it.
 */
async function chooseContentType(key: string, file: string | null, source: string, size: number): Promise<string> {
  if (file && extensionOf(path.basename(file))) return contentTypeForName(path.basename(file));
  const fromKey = contentTypeForName(key);
  if (fromKey !== DEFAULT_CONTENT_TYPE || file) return fromKey;
  const isInput = key === inputKey();
  const text = size <= SNIFF_LIMIT ? (await fsp.readFile(source)).toString('utf8') : null;
  const json = text !== null && isJson(text);
  if (json && (isInput || /^\s*[[{]/.test(text))) return JSON_TYPE;
  if (isInput) {
    throw new CliError(`The record ${JSON.stringify(key)} is the input and must be JSON; stdin is not (pass --content-type to store it anyway).`, EXIT.USAGE);
  }
  return DEFAULT_CONTENT_TYPE;
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** A record's value for `get --json`: JSON as JSON, text as a string, anything else in base64. */
function jsonValue(body: Buffer, contentType: string, key: string): { value: unknown } | { base64: string } {
  let value: unknown;
  try {
    value = decodeBody(body, contentType, key);
  } catch {
    return { base64: body.toString('base64') }; // declared JSON that is not
  }
  return Buffer.isBuffer(value) ? { base64: value.toString('base64') } : { value };
}

/**
 * Writes next to the target, then renames, so a failed or interrupted download never leaves a
 * partial file under the real name; leftovers of a killed run in that folder are removed first.
 */
async function writeFileViaPartial(target: string, source: Readable): Promise<number> {
  const dir = path.dirname(target);
  if (!(await fsp.stat(dir).catch(() => null))?.isDirectory()) {
    source.destroy();
    throw new CliError(`No such directory: ${dir}`, EXIT.USAGE);
  }
  await stalePartials(dir, { remove: true });
  const temp = newPartial(dir);
  try {
    await pipeline(source, createWriteStream(temp));
    const { size } = await fsp.stat(temp);
    await fsp.rename(temp, target);
    partialDone(temp);
    return size;
  } finally {
    await releasePartial(temp);
  }
}
