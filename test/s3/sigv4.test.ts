/**
 * The request signing of the backend's own object requests, checked against the examples AWS
 * publishes for Signature Version 4 on S3 (same keys, date and requests, same signatures).
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
 */
import { describe, expect, it } from 'vitest';

import { encodeObjectPath, SigV4Signer } from '../../src/storage/s3/sigv4.js';

const credentials = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };
const when = new Date('2013-05-24T00:00:00Z');
const signatureOf = (authorization: string | undefined) => /Signature=([0-9a-f]{64})$/.exec(authorization ?? '')?.[1];

describe('SigV4 signing of object requests', () => {
  it('signs the GET Object example (a ranged read)', () => {
    const headers: Record<string, string> = { host: 'examplebucket.s3.amazonaws.com', range: 'bytes=0-9' };
    new SigV4Signer('us-east-1').sign('GET', `/${encodeObjectPath('test.txt')}`, headers, undefined, credentials, when);
    expect(headers['x-amz-date']).toBe('20130524T000000Z');
    expect(headers.authorization).toContain('Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request');
    expect(headers.authorization).toContain('SignedHeaders=host;range;x-amz-content-sha256;x-amz-date');
    expect(signatureOf(headers.authorization)).toBe('f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41');
  });

  it('signs the PUT Object example (a key to encode, a body, x-amz-* headers)', () => {
    const headers: Record<string, string> = {
      host: 'examplebucket.s3.amazonaws.com',
      date: 'Fri, 24 May 2013 00:00:00 GMT',
      'x-amz-storage-class': 'REDUCED_REDUNDANCY',
    };
    const path = `/${encodeObjectPath('test$file.text')}`;
    expect(path).toBe('/test%24file.text');
    new SigV4Signer('us-east-1').sign('PUT', path, headers, Buffer.from('Welcome to Amazon S3.'), credentials, when);
    expect(headers['x-amz-content-sha256']).toBe('44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072');
    expect(signatureOf(headers.authorization)).toBe('98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd');
  });

  it('encodes every character of a key S3 wants encoded, keeping the slashes between parts', () => {
    expect(encodeObjectPath("p/key_value_stores/s/records/a!b'c(d)e*f-g.h_i~j k")).toBe(
      'p/key_value_stores/s/records/a%21b%27c%28d%29e%2Af-g.h_i~j%20k',
    );
  });
});
