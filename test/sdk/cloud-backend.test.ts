/** The API backend's record digest: from the ETag when it is the body's md5, else from the body. */
import { createHash } from 'node:crypto';
import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { ApifyClient } from '../../src/index.js';
import { CloudBackend } from '../../src/sdk/cloud-backend.js';

const API = 'https://api.apify.com';
const RECORD = '/v2/key-value-stores/s1/records/k';
const BODY = 'hello there';
const MD5 = createHash('md5').update(BODY).digest('hex');

beforeAll(() => nock.disableNetConnect());
afterEach(() => {
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending, 'pending mocks').toEqual([]);
});
afterAll(() => nock.enableNetConnect());

describe('CloudBackend.recordDigest', () => {
  const backend = () => new CloudBackend(new ApifyClient({ token: 't', maxRetries: 0 }), API);

  it('takes the md5 from an ETag that is one, without downloading the body', async () => {
    nock(API).head(RECORD).reply(200, '', { 'content-type': 'text/plain', 'content-length': '11', etag: `"${MD5}"` });
    expect(await backend().recordDigest('s1', 'k')).toEqual({ contentType: 'text/plain', size: 11, md5: MD5 });
  });

  it('hashes the body when the ETag is not an md5', async () => {
    nock(API).head(RECORD).reply(200, '', { 'content-type': 'text/plain', 'content-length': '11', etag: '"v1-2"' });
    nock(API).get(RECORD).reply(200, BODY, { 'content-type': 'text/plain', etag: '"v1-2"' });
    expect(await backend().recordDigest('s1', 'k')).toEqual({ contentType: 'text/plain', size: 11, md5: MD5 });
  });

  it('answers null for a missing record', async () => {
    nock(API).head(RECORD).reply(404);
    expect(await backend().recordDigest('s1', 'k')).toBeNull();
  });
});
