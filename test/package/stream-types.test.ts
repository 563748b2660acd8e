/**
 * Record streams in the published types, as an installed package resolves them: a Node project
 * (`@types/node` loaded) sees `getRecord(key, { stream: true })` as Node's `Readable`, as
 * apify-client v2 types it, under node16 and bundler resolution, from ES modules and CommonJS; a
 * browser project without Node types sees a web `ReadableStream` (what the browser bundle gives)
 * and no Node types. Every declaration is checked (`skipLibCheck: false`).
 */
import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ensureBuilt } from '../cli/helpers.js';
import { installedProject, ROOT } from './helpers.js';

let project: Awaited<ReturnType<typeof installedProject>>;

beforeAll(async () => {
  ensureBuilt();
  project = await installedProject([]);
}, 60_000);
afterAll(() => project?.remove());

/** Code written for apify-client v2 in Node, using the record stream as a `Readable`. */
const NODE_CODE = `
import { createWriteStream } from 'node:fs';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ApifyClient } from 'apify-kv-client';

const client = new ApifyClient({ token: 'token' });
const kv = client.keyValueStore('my-store');

function consume(stream: Readable): Readable {
  return stream.setEncoding('utf8');
}

export async function run(): Promise<unknown> {
  const record = await kv.getRecord('video', { stream: true });
  if (!record) return undefined;
  record.value.pipe(createWriteStream('video.mp4'));
  record.value.on('data', (chunk: Buffer) => console.log(chunk.length));
  consume(record.value);
  await pipeline(record.value, createWriteStream('copy.mp4'));
  const readable: Readable = record.value;
  const flowing: boolean | null = record.value.readableFlowing;
  // The same stream from the flat API, where a Node stream and a web stream are told apart.
  const flat = await client.keyValueStores.getRecord({ storeId: 'my-store', key: 'video', stream: true });
  if (flat && !(flat.body instanceof ReadableStream)) consume(flat.body);
  // A Node stream written as a record.
  await kv.setRecord({ key: 'copy', value: Readable.from(['a']), contentType: 'text/plain' });
  // @ts-expect-error a Node stream is not a web stream
  record.value.getReader();
  return [readable, flowing, Writable];
}
`;

/** The same calls in a browser project, where the stream is a web `ReadableStream`. */
const BROWSER_CODE = `
import { ApifyClient } from 'apify-kv-client';

const client = new ApifyClient({ baseUrl: 'http://127.0.0.1:8010', token: 'token' });

export async function run(): Promise<number> {
  const record = await client.keyValueStore('my-store').getRecord('video', { stream: true });
  if (!record) return 0;
  const web: ReadableStream<Uint8Array> = record.value;
  const reader = web.getReader();
  const { value } = await reader.read();
  // @ts-expect-error no Node stream methods in the browser
  record.value.pipe;
  return value?.length ?? 0;
}

// The project really has no Node types.
// @ts-expect-error Buffer is a Node global
export const nodeOnly = Buffer;
`;

const NODE_OPTIONS = {
  strict: true,
  noEmit: true,
  types: ['node'],
  lib: ['es2022'],
  target: 'es2022',
  skipLibCheck: false,
};

/** Writes the files and the tsconfig in a folder of the installed project and runs tsc there: its output, '' when clean. */
async function typeCheck(name: string, files: Record<string, string>, compilerOptions: Record<string, unknown>): Promise<string> {
  const dir = path.join(project.dir, name);
  await fsp.mkdir(dir);
  for (const [file, text] of Object.entries(files)) await fsp.writeFile(path.join(dir, file), text);
  await fsp.writeFile(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: Object.keys(files) }));
  const tsc = path.join(ROOT, 'node_modules/typescript/bin/tsc');
  return promisify(execFile)(process.execPath, [tsc, '-p', dir], { cwd: dir }).then(
    () => '',
    (error: { stdout?: string; stderr?: string }) => error.stdout || error.stderr || 'tsc failed',
  );
}

describe('record streams in the published types', () => {
  it('a Node project under node16 resolution: Readable, from an ES module and from CommonJS', async () => {
    const out = await typeCheck('node16', { 'esm.mts': NODE_CODE, 'cjs.cts': NODE_CODE }, { ...NODE_OPTIONS, module: 'node16', moduleResolution: 'node16' });
    expect(out).toBe('');
  }, 120_000);

  it('a Node project under bundler resolution: Readable, from an ES module and from CommonJS', async () => {
    const out = await typeCheck('bundler', { 'esm.ts': NODE_CODE, 'cjs.cts': NODE_CODE }, { ...NODE_OPTIONS, module: 'preserve', moduleResolution: 'bundler' });
    expect(out).toBe('');
  }, 120_000);

  it('a browser project without Node types: a web ReadableStream', async () => {
    const out = await typeCheck(
      'browser',
      { 'browser.ts': BROWSER_CODE },
      { strict: true, noEmit: true, types: [], lib: ['dom', 'es2022'], target: 'es2022', module: 'esnext', moduleResolution: 'bundler', skipLibCheck: false },
    );
    expect(out).toBe('');
  }, 120_000);
});
