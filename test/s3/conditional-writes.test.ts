/**
 * Conditional writes and deletes on the S3 backend: the server suite over S3 (two server
 * instances over one bucket race there), plus what only S3 has: the deleted marker a conditional
 * delete leaves in the bucket.
 */
import { describe, expect, it } from 'vitest';

import { DELETED_MARKER } from '../../src/storage/s3/deleted-marker.js';
import { expectError, kvs, putRecord, raw, startTestServer } from '../server/helpers.js';
import { serveTestServersOverS3 } from '../support/s3-service.js';

serveTestServersOverS3();

// Loaded after the switch above, so that its servers run on S3.
await import('../server/conditional-writes.test.js');

describe('conditional deletes on S3', () => {
  it('leave a marker that reads as missing; its exact bytes cannot be stored as a record', async () => {
    const server = await startTestServer();
    const id = (await raw(server, 'POST', `${kvs}?name=marker`)).json.data.id as string;
    const etag = (await putRecord(server, id, 'k', 'v')).headers.etag as string;
    expect((await raw(server, 'DELETE', `${kvs}/${id}/records/k`, { headers: { 'If-Match': etag } })).status).toBe(204);
    const objects = await server.snapshot();
    // The record's object is still there, holding the marker.
    expect(Object.keys(objects).some((name) => name.endsWith('/records/k'))).toBe(true);
    expect((await raw(server, 'GET', `${kvs}/${id}/records/k`)).status).toBe(404);
    expectError(await putRecord(server, id, 'other', DELETED_MARKER, 'text/plain'), 400, 'invalid-input');
    // A plain delete removes the marker too.
    expect((await raw(server, 'DELETE', `${kvs}/${id}/records/k`)).status).toBe(204);
    expect(Object.keys(await server.snapshot()).some((name) => name.endsWith('/records/k'))).toBe(false);
  });
});
