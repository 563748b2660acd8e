/** The digest helpers of end-to-end integrity: Content-MD5 from a hex MD5, and which ETags name an MD5. */
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { contentMd5, etagMatches, md5OfEtag } from '../../src/client/integrity.js';

describe('contentMd5', () => {
  it('is the base64 of the digest bytes, for random digests in either letter case', () => {
    for (let round = 0; round < 2_000; round++) {
      const digest = createHash('md5').update(randomBytes(round % 64)).digest();
      const hex = digest.toString('hex');
      expect(contentMd5(hex)).toBe(digest.toString('base64'));
      expect(contentMd5(hex.toUpperCase())).toBe(digest.toString('base64'));
    }
  });

  it('covers every value of every byte position', () => {
    for (let position = 0; position < 16; position++) {
      for (let value = 0; value < 256; value++) {
        const digest = Buffer.alloc(16, 0xa5);
        digest[position] = value;
        expect(contentMd5(digest.toString('hex'))).toBe(digest.toString('base64'));
      }
    }
  });
});

describe('md5OfEtag', () => {
  const hex = '0123456789abcdefABCDEF0123456789';

  it('takes 32 hex digits, quoted or not, in lower case', () => {
    expect(md5OfEtag(`"${hex}"`)).toBe(hex.toLowerCase());
    expect(md5OfEtag(hex)).toBe(hex.toLowerCase());
  });

  it('refuses ETags that are not an MD5', () => {
    for (const etag of [
      undefined,
      '',
      `W/"${hex}"`,
      `"${hex}-2"`,
      `"${hex.slice(1)}"`,
      `"${hex}0"`,
      `${hex}0`,
      `"${hex.slice(0, 31)}g"`,
      `'${hex}'`,
      `"${hex}`,
      `${hex}"`,
    ]) {
      expect(md5OfEtag(etag), String(etag)).toBeUndefined();
    }
  });
});

describe('etagMatches', () => {
  const md5 = createHash('md5').update('body').digest('hex');
  const other = createHash('md5').update('another body').digest('hex');

  it('is true for an ETag that names the MD5, in any form an MD5 ETag takes', () => {
    for (const etag of [`"${md5}"`, md5, `"${md5.toUpperCase()}"`, md5.toUpperCase()]) expect(etagMatches(etag, md5), etag).toBe(true);
  });

  it('is false for an ETag that names another MD5, in any of those forms', () => {
    for (const etag of [`"${other}"`, other, `"${other.toUpperCase()}"`, other.toUpperCase()]) expect(etagMatches(etag, md5), etag).toBe(false);
  });

  it('is undefined (not checked) for an ETag that is no MD5', () => {
    for (const etag of [undefined, '', `W/"${md5}"`, `"${md5}-2"`, '"not-an-md5"']) expect(etagMatches(etag, md5), String(etag)).toBeUndefined();
  });
});
