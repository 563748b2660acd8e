/**
 * End-to-end integrity of record bodies. An upload of buffered bytes sends their MD5 as
 * `Content-MD5` (the server refuses a body that does not match it) and checks the ETag the
 * server answers with; a full download is checked against its ETag. The server's ETags are the
 * MD5 of the stored bytes; an ETag of another shape (weak, S3 multipart `-N`, none at all, as
 * the platform may send) is not checked. A mismatch is tried once more, then fails with an
 * `ApifyApiError` of type `integrity-mismatch`. Streamed bodies are not checked.
 */
import { isApifyApiError } from './http/errors.js';
import type { HttpResponse } from './http/http-client.js';
import { platform } from './platform/node.js';

/** The error type of a body that did not arrive as it was sent. */
export const INTEGRITY_MISMATCH = 'integrity-mismatch';

/** Strong, 32 hex digits, quoted or not: an ETag that is an MD5. */
const MD5_ETAG = /^("?)([0-9a-f]{32})\1$/i;

/** The MD5 an ETag names, lower-case hex; undefined for an ETag that is not one. */
export function md5OfEtag(etag: string | undefined): string | undefined {
  const match = etag === undefined ? null : MD5_ETAG.exec(etag);
  return match ? match[2]!.toLowerCase() : undefined;
}

/** The value of a hex digit's character code (0-9, a-f, A-F). */
const nibble = (code: number) => (code & 15) + (code >> 6) * 9;

/**
 * `Content-MD5` (RFC 1864): the base64 of the digest's 16 bytes, from its 32 hex digits. The bytes
 * are read off the character codes: this runs on every upload, and a regular expression with a
 * callback per byte costs more than hashing a small body. (A table-driven base64 would save Node
 * another 0.2 µs per upload, about 0.1% of a request, for some 70 bytes more in the browser add-on.)
 */
export function contentMd5(hex: string): string {
  let binary = '';
  for (let i = 0; i < 32; i += 2) binary += String.fromCharCode((nibble(hex.charCodeAt(i)) << 4) | nibble(hex.charCodeAt(i + 1)));
  return btoa(binary);
}

/**
 * What an ETag says about a body whose MD5 is `md5` (lower-case hex): `true` when it names that
 * MD5, `false` when it names another, `undefined` when it is no MD5 (not checked). The server's
 * ETags are `"<md5>"`, so a plain comparison settles nearly every answer; the pattern only runs
 * for ETags of another form.
 */
export function etagMatches(etag: string | undefined, md5: string): boolean | undefined {
  if (etag === undefined) return undefined;
  if (etag === `"${md5}"`) return true;
  const named = md5OfEtag(etag);
  return named === undefined ? undefined : named === md5;
}

/** Whether an ETag may name an MD5 (32 hex digits, maybe quoted): tells when a download is worth hashing. */
const mayBeMd5 = (etag: string | undefined) => etag !== undefined && (etag.length === 34 || etag.length === 32);

/** What an upload of `bytes` sends and checks: their MD5, and the header that carries it. */
export interface UploadDigest {
  md5: string;
  headers: Record<string, string>;
}

/**
 * The digest of an upload of `bytes`: at once for a small body; a promise for a large one, whose
 * MD5 is taken in slices, letting other work run between them (see `md5HexSliced` in
 * `platform/types.ts`), and which rejects with the signal's reason when it is aborted meanwhile.
 */
export function uploadDigest(bytes: Uint8Array, signal?: AbortSignal): UploadDigest | Promise<UploadDigest> {
  if (bytes.length >= platform.md5SlicedFrom!) return platform.md5HexSliced!(bytes, signal).then(digestOf);
  return digestOf(platform.md5Hex!(bytes));
}

const digestOf = (md5: string): UploadDigest => ({ md5, headers: { 'Content-MD5': contentMd5(md5) } });

const isMismatch = (error: unknown) => isApifyApiError(error) && error.type === INTEGRITY_MISMATCH;

/**
 * Runs an upload; when the server refuses the body as not matching its digest, or answers with
 * an ETag that is not the MD5 sent, runs it once more, then fails with `integrity-mismatch`.
 * Without a digest (checks off, or a streamed body) the upload runs as it is.
 */
export function checkedUpload(digest: UploadDigest | undefined, upload: () => Promise<HttpResponse>): Promise<HttpResponse> {
  if (!digest) return upload();
  // One `then` per attempt (no async function and try around it): this runs on every upload.
  const attempt = (last: boolean): Promise<HttpResponse> =>
    upload().then(
      (response) => {
        const etag = response.header('etag');
        if (etagMatches(etag, digest.md5) !== false) return response;
        if (!last) return attempt(true);
        throw response.invalid(INTEGRITY_MISMATCH, `The stored body's ETag ${md5OfEtag(etag)} is not the MD5 sent (${digest.md5})`);
      },
      (error: unknown) => {
        if (last || !isMismatch(error)) throw error;
        return attempt(true);
      },
    );
  return attempt(false);
}

/**
 * Runs a full download; when its body is not the MD5 its ETag names, runs it once more, then
 * fails with `integrity-mismatch`. `null` (no record) passes through. A large body is hashed in
 * slices, as an upload's; `signal` stops that hashing.
 */
export function checkedDownload(download: () => Promise<HttpResponse | null>, signal?: AbortSignal): Promise<HttpResponse | null> {
  const attempt = (last: boolean): Promise<HttpResponse | null> =>
    download().then((response) => {
      const etag = response?.header('etag');
      if (!mayBeMd5(etag)) return response;
      const bytes = response!.bytes;
      if (bytes.length >= platform.md5SlicedFrom!) return platform.md5HexSliced!(bytes, signal).then((actual) => settle(response!, etag, actual, last));
      return settle(response!, etag, platform.md5Hex!(bytes), last);
    });
  const settle = (response: HttpResponse, etag: string | undefined, actual: string, last: boolean) => {
    if (etagMatches(etag, actual) !== false) return response;
    if (!last) return attempt(true);
    throw response.invalid(INTEGRITY_MISMATCH, `The body read (MD5 ${actual}) is not its ETag's (${md5OfEtag(etag)})`);
  };
  return attempt(false);
}
