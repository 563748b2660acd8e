import { defineConfig } from 'vitest/config';

import { findCephBinaries, INSTALL_HINT } from './scripts/ceph/rgw.mjs';

// The S3 suites need an S3 service: S3_ENDPOINT (+ keys), or Ceph's binaries to start a RADOS
// Gateway. Without either they cannot run: say so loudly, or fail under REQUIRE_S3=1 (CI).
const s3Available = Boolean(process.env.S3_ENDPOINT) || findCephBinaries() !== null;
if (!s3Available) {
  const message =
    'The S3 backend suites (test/s3) did NOT run: no S3 service. Install Ceph to run them ' +
    `(${INSTALL_HINT}), or set S3_ENDPOINT, S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY.`;
  if (process.env.REQUIRE_S3 === '1') throw new Error(`REQUIRE_S3=1: ${message}`);
  console.warn(`\n${'!'.repeat(100)}\n${message}\n${'!'.repeat(100)}\n`);
}

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['**/node_modules/**', ...(s3Available ? [] : ['test/s3/**'])],
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    restoreMocks: true,
  },
});
