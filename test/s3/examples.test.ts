/** examples/s3-two-instances.mjs against the suite's S3 service. */
import { rmSync } from 'node:fs';
import path from 'node:path';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { ensureBuilt } from '../cli/helpers.js';
import { EXAMPLES, run, workDir } from '../examples/run.js';
import { useS3 } from '../support/s3-service.js';

const s3 = useS3();
let dir: string | undefined;
beforeAll(() => ensureBuilt());
afterAll(() => dir && rmSync(dir, { recursive: true, force: true }));

it('two servers over one bucket: one store for one name, a record written through one read through the other', async () => {
  const work = workDir();
  dir = work.dir;
  const env = {
    ...work.env,
    AWS_ENDPOINT_URL: s3.service.endpoint,
    AWS_REGION: s3.service.region,
    AWS_ACCESS_KEY_ID: s3.service.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.service.secretAccessKey,
  };
  const result = await run(process.execPath, [path.join(EXAMPLES, 's3-two-instances.mjs'), s3.bucket], { cwd: dir, env });
  expect(result.code, result.err).toBe(0);
  expect(result.out).toContain('get-or-create on both servers at once: one store');
  expect(result.out).toContain('written through one, read through two: {"from":"server one"}');
  expect(result.out).toContain('keys listed by two: result');
}, 120_000);
