/**
 * The published types: a browser project without `@types/node` (`types: []`, `lib: ["dom",
 * "es2022"]`, every declaration checked) compiles a small file against `dist/` types, and the
 * members marked `@internal` are not in them. Needs `npm run build` first (as `npm test` does).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const DIST_TYPES = path.join(ROOT, 'dist/index.d.ts');
// Inside the project, so `axios` (which the declarations import) resolves from its node_modules.
const cacheDir = path.join(ROOT, 'node_modules/.cache');
mkdirSync(cacheDir, { recursive: true });
const dir = mkdtempSync(path.join(cacheDir, 'browser-types-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const BROWSER_FILE = `
import { ApifyClient, isApifyApiError, type RecordBytes, type KeyValueStoreRecord } from '${path.join(ROOT, 'dist/index.js')}';

const client = new ApifyClient({ baseUrl: 'http://127.0.0.1:8010', token: 'token' });

export async function run(): Promise<string> {
  const store = client.keyValueStore('my-store');
  const record: KeyValueStoreRecord | undefined = await store.getRecord('k', { buffer: true });
  // buffer: true is typed as what the browser bundle gives: an ArrayBuffer, exactly.
  const raw = (await store.getRecord('k', { buffer: true }))?.value;
  const exact: Equal<typeof raw, ArrayBuffer | undefined> = true;
  // @ts-expect-error an ArrayBuffer has no typed-array methods: view it first
  raw?.subarray(0, 1);
  const viewed = raw && new Uint8Array(raw);
  const bytes: RecordBytes | undefined = (await client.keyValueStores.getRecord({ storeId: 's', key: 'k', disableBodyParser: true }))?.body;
  const asBytes: ArrayBuffer | Uint8Array | undefined = bytes;
  for await (const { key } of store.listKeys({ prefix: 'a' })) console.log(key);
  for await (const found of client.keyValueStores.listStores()) console.log(found.id);
  await store.setRecord({ key: 'blob', value: new Blob(['x']) });
  await store.setRecord({ key: 'stream', value: new ReadableStream<Uint8Array>() });
  await client.keyValueStores.putRecord({ storeId: 's', key: 'k', body: new Uint8Array(2), signal: AbortSignal.timeout(1000) });
  try {
    await store.delete();
  } catch (error) {
    if (isApifyApiError(error)) return error.type;
  }
  return String(record?.contentType) + String(asBytes) + String(exact) + String(viewed);
}

/** Exactly the same type: not a union holding it, not any. */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

// The project really has no Node types: this global does not exist here.
// @ts-expect-error Buffer is a Node global
export const nodeOnly = Buffer;

// Members marked @internal are not in the published types.
// @ts-expect-error readRecord is internal
export const internal = client.keyValueStore('s').readRecord;
`;

const TSCONFIG = {
  compilerOptions: {
    strict: true,
    noEmit: true,
    types: [],
    lib: ['dom', 'es2022'],
    target: 'es2022',
    module: 'esnext',
    moduleResolution: 'bundler',
    skipLibCheck: false,
  },
  files: ['browser.ts'],
};

describe('published types', () => {
  it('type-check in a browser project without @types/node, without @internal members', async () => {
    expect(existsSync(DIST_TYPES), 'run npm run build first').toBe(true);
    writeFileSync(path.join(dir, 'browser.ts'), BROWSER_FILE);
    writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify(TSCONFIG));
    const tsc = path.join(ROOT, 'node_modules/typescript/bin/tsc');
    const result = await promisify(execFile)(process.execPath, [tsc, '-p', dir], { cwd: dir }).then(
      () => ({ code: 0, out: '' }),
      (error: { code: number; stdout: string }) => ({ code: error.code, out: error.stdout }),
    );
    expect(result.out).toBe('');
    expect(result.code).toBe(0);
  }, 60_000);
});
