/**
 * The signing of the backend's own object requests: built by `ObjectRequests`, signed by the
 * SDK's signer set up from a real S3 client's configuration, as the backend does. Checked
 * against the example AWS publishes for Signature Version 4 on S3 (same keys, date and request,
 * same signature), and for what we add: the unsigned Content-Type and the encoded key.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
 */
import { Readable } from 'node:stream';

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import type { S3StorageOptions } from '../../src/storage/s3/config.js';
import { createObjectSigner, ObjectRequests, type ObjectHttpRequest } from '../../src/storage/s3/object-requests.js';
import { loadS3Sdk, loadS3Signer } from '../../src/storage/s3/peers.js';
import { createS3Client } from '../../src/storage/s3/s3-client.js';

const EXAMPLE: S3StorageOptions = {
  bucket: 'examplebucket',
  endpoint: 'https://s3.amazonaws.com',
  region: 'us-east-1',
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
} as S3StorageOptions;

const signatureOf = (request: ObjectHttpRequest | undefined) => /Signature=([0-9a-f]{64})$/.exec(request?.headers.authorization ?? '')?.[1];
const signedHeadersOf = (request: ObjectHttpRequest | undefined) => /SignedHeaders=([^,]+),/.exec(request?.headers.authorization ?? '')?.[1];

/** Object requests over `options` whose HTTP handler records what it is given and answers 200. */
async function recording(options: S3StorageOptions) {
  const [sdk, signerLib] = await Promise.all([loadS3Sdk(), loadS3Signer()]);
  const client = createS3Client(sdk, options);
  const sent: ObjectHttpRequest[] = [];
  const handler = {
    handle: async (request: ObjectHttpRequest) => {
      sent.push(request);
      return { response: { statusCode: 200, headers: {}, body: Readable.from([]) } };
    },
  };
  const requests = new ObjectRequests(options, handler, createObjectSigner(signerLib, client.config), () => {});
  const signerWith = (signingEscapePath: boolean) => createObjectSigner(signerLib, { ...client.config, signingEscapePath });
  return { requests, sent, signerWith, close: () => client.destroy() };
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(new Date('2013-05-24T00:00:00Z'));
});
afterEach(() => {
  vi.useRealTimers();
});

describe('signing of object requests', () => {
  it('signs the GET Object example (a ranged read) as AWS does', async () => {
    const { requests, sent, close } = await recording(EXAMPLE);
    await requests.send('GET', 'test.txt', { range: 'bytes=0-9' });
    close();
    const [request] = sent;
    expect(request?.hostname).toBe('examplebucket.s3.amazonaws.com');
    expect(request?.path).toBe('/test.txt');
    expect(request?.headers['x-amz-date']).toBe('20130524T000000Z');
    expect(request?.headers.authorization).toContain('Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request');
    expect(signedHeadersOf(request)).toBe('host;range;x-amz-content-sha256;x-amz-date');
    expect(signatureOf(request)).toBe('f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41');
  });

  it('hashes the body of a PUT and sends its Content-Type unsigned, tab and all', async () => {
    const { requests, sent, close } = await recording(EXAMPLE);
    const body = Buffer.from('Welcome to Amazon S3.');
    await requests.send('PUT', 'test$file.text', { 'content-type': 'text/plain;\tcharset=utf-8', 'x-amz-storage-class': 'REDUCED_REDUNDANCY' }, body);
    await requests.send('PUT', 'test$file.text', { 'x-amz-storage-class': 'REDUCED_REDUNDANCY' }, body);
    close();
    const [typed, untyped] = sent;
    expect(typed?.path).toBe('/test%24file.text');
    // The body's SHA-256 as AWS's PUT Object example gives it.
    expect(typed?.headers['x-amz-content-sha256']).toBe('44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072');
    expect(typed?.headers['content-type']).toBe('text/plain;\tcharset=utf-8');
    expect(signedHeadersOf(typed)).toBe('host;x-amz-content-sha256;x-amz-date;x-amz-storage-class');
    // The Content-Type changes nothing in the signature.
    expect(signatureOf(typed)).toMatch(/^[0-9a-f]{64}$/);
    expect(signatureOf(typed)).toBe(signatureOf(untyped));
  });

  it('signs the path as sent, not encoded a second time: bucket, endpoint path and every reserved character of the key', async () => {
    const options = { ...EXAMPLE, endpoint: 'http://127.0.0.1:7480/base', forcePathStyle: true } as S3StorageOptions;
    const { requests, sent, signerWith, close } = await recording(options);
    await requests.send('HEAD', "p/key_value_stores/s/records/a!b'c(d)e*f-g.h_i~j k%");
    await requests.send('HEAD', 'plain');
    const [encoded, plain] = sent;
    expect(encoded?.hostname).toBe('127.0.0.1');
    expect(encoded?.headers.host).toBe('127.0.0.1:7480');
    expect(encoded?.path).toBe('/base/examplebucket/p/key_value_stores/s/records/a%21b%27c%28d%29e%2Af-g.h_i~j%20k%25');
    // A signer encoding the path again would sign `%2521`, and S3 would refuse the request.
    const unsigned = { ...encoded!, headers: { host: encoded!.headers.host! } };
    const once = await signerWith(false).sign(unsigned, { unsignableHeaders: new Set() });
    const twice = await signerWith(true).sign(unsigned, { unsignableHeaders: new Set() });
    close();
    expect(signatureOf(encoded)).toBe(signatureOf(once));
    expect(signatureOf(encoded)).not.toBe(signatureOf(twice));
    expect(plain?.path).toBe('/base/examplebucket/plain');
  });
});
