/**
 * The AWS SDK is an optional peer dependency: a project without it uses the client, the SDK,
 * the CLI and the local server as usual, and asking for `s3://` storage fails at once with one
 * line naming the packages to install.
 */
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ensureBuilt } from '../cli/helpers.js';
import { installedProject } from './helpers.js';

const INSTALL_LINE = 'npm install @aws-sdk/client-s3 @aws-sdk/s3-request-presigner';

let project: Awaited<ReturnType<typeof installedProject>>;

beforeAll(async () => {
  ensureBuilt();
  project = await installedProject(['@aws-sdk']);
}, 60_000);
afterAll(() => project?.remove());

function runNode(args: string[], input = '') {
  return spawnSync(process.execPath, args, { cwd: project.dir, input, encoding: 'utf8', timeout: 30_000, env: { PATH: process.env.PATH ?? '', HOME: project.dir } });
}

describe('without the AWS SDK installed', () => {
  it('the AWS SDK is really missing from the project', () => {
    const result = runNode(['--input-type=module', '-e', "await import('@aws-sdk/client-s3')"]);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('ERR_MODULE_NOT_FOUND');
  });

  it('apify-kv serve --storage s3://... fails at once with one line naming the packages', () => {
    const bin = path.join(project.packageDir, 'dist/cli/index.js');
    const started = Date.now();
    const result = runNode([bin, 'serve', '--port', '0', '--storage', 's3://bucket/prefix', '--s3-endpoint', 'http://127.0.0.1:9']);
    expect(result.status).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(INSTALL_LINE);
    expect(result.stdout).toBe('');
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  for (const [format, file, source] of [
    [
      'ESM',
      'check.mjs',
      `import { ApifyClient } from 'apify-kv-client';
import { startServer } from 'apify-kv-client/server';
import { KeyValueStore } from 'apify-kv-client/sdk';
import { mkdtempSync } from 'node:fs';`,
    ],
    [
      'CJS',
      'check.cjs',
      `const { ApifyClient } = require('apify-kv-client');
const { startServer } = require('apify-kv-client/server');
const { KeyValueStore } = require('apify-kv-client/sdk');
const { mkdtempSync } = require('node:fs');`,
    ],
  ] as const) {
    it(`the client, the local server and the SDK work (${format}), and startServer over s3:// names the packages`, async () => {
      const { writeFileSync } = await import('node:fs');
      const script = `${source}
(async () => {
  const server = await startServer({ port: 0, storageDir: mkdtempSync('storage-') });
  const client = new ApifyClient({ baseUrl: server.url });
  const store = await client.keyValueStores.getOrCreateStore({ storeName: 'no-aws' });
  await client.keyValueStores.putRecord({ storeId: store.id, key: 'k', body: { format: '${format}' } });
  const record = await client.keyValueStores.getRecord({ storeId: store.id, key: 'k' });
  await server.close();
  const sdkStore = await KeyValueStore.open('local', { storageDir: mkdtempSync('sdk-') });
  await sdkStore.setValue('v', 42);
  const value = await sdkStore.getValue('v');
  let s3Error = null;
  await startServer({ port: 0, storage: 's3://bucket/prefix', s3: { endpoint: 'http://127.0.0.1:9' } }).then(
    (s) => s.close(),
    (error) => { s3Error = { name: error.name, message: error.message }; },
  );
  console.log(JSON.stringify({ body: record.body, value, s3Error }));
})().catch((error) => { console.error(error); process.exit(1); });
`;
      writeFileSync(path.join(project.dir, file), script);
      const result = await new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
        const child = spawn(process.execPath, [file], { cwd: project.dir, env: { PATH: process.env.PATH ?? '', HOME: project.dir } });
        let out = '';
        let err = '';
        child.stdout.on('data', (chunk: Buffer) => (out += chunk));
        child.stderr.on('data', (chunk: Buffer) => (err += chunk));
        child.on('close', (code) => resolve({ code, out, err }));
      });
      expect(result.err).toBe('');
      expect(result.code).toBe(0);
      const seen = JSON.parse(result.out) as { body: unknown; value: unknown; s3Error: { name: string; message: string } | null };
      expect(seen.body).toEqual({ format });
      expect(seen.value).toBe(42);
      expect(seen.s3Error?.name).toBe('S3PackagesMissingError');
      expect(seen.s3Error?.message).toContain(INSTALL_LINE);
    });
  }
});
