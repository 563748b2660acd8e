/**
 * `Content-MD5` on record uploads (RFC 1864: the base64 of the body's 16-byte MD5). The body is
 * hashed as it streams to storage and the check runs before the stream ends, so a body that does
 * not match fails the write before anything is committed: the old record stays as it was.
 *
 * The digest may be of the record's bytes (after Content-Encoding is undone: what the ETag is the
 * MD5 of) or, as RFC 1864 reads it, of the body as sent; either is accepted.
 *
 * A storage that `checksMd5` (the folder, which hashes every body for its ETag) is handed the
 * digest of a body sent as it is and checks it before it commits: the body is hashed once.
 */
import { createHash, type Hash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { ApiError } from './errors.js';

/** The error type of a body that does not match its `Content-MD5`. */
export const INTEGRITY_MISMATCH = 'integrity-mismatch';

/** The 16 bytes a `Content-MD5` header names, `undefined` without one; a malformed one is a 400. */
export function expectedMd5(req: IncomingMessage): Buffer | undefined {
  const header = req.headers['content-md5'];
  if (header === undefined) return undefined;
  const value = typeof header === 'string' ? header.trim() : '';
  // 16 bytes are 22 base64 characters and "==".
  if (!/^[A-Za-z0-9+/]{22}==$/.test(value)) {
    throw new ApiError(400, 'invalid-content-md5', 'The Content-MD5 header must be the base64 of a 16-byte MD5 digest (RFC 1864).');
  }
  return Buffer.from(value, 'base64');
}

/** By name, not `instanceof`, as in errors.ts (copies of the storage module may coexist). */
export function isStorageIntegrityMismatch(err: unknown): boolean {
  return !!err && typeof err === 'object' && (err as { name?: string }).name === 'IntegrityMismatchError';
}

export function integrityMismatch(): ApiError {
  return new ApiError(400, INTEGRITY_MISMATCH, 'The request body does not match its Content-MD5 header; the record was not stored.');
}

/** A record body checked against a `Content-MD5` as it passes. */
export interface CheckedBody {
  stream: Readable;
  /** True once the body ended with a digest other than the expected one. */
  mismatched(): boolean;
}

/**
 * Passes `decoded` through, hashing it (and `raw`, the body as sent, when it was encoded); at its
 * end the stream fails instead of ending unless one of the digests is `expected`.
 */
export function checkMd5(decoded: Readable, expected: Buffer, raw?: Readable): CheckedBody {
  const hash = createHash('md5');
  let rawHash: Hash | undefined;
  if (raw) {
    rawHash = createHash('md5');
    raw.on('data', (chunk: Buffer) => rawHash!.update(chunk));
  }
  let mismatched = false;
  const checker = new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback) {
      hash.update(chunk);
      done(null, chunk);
    },
    flush(done: TransformCallback) {
      const ok = hash.digest().equals(expected) || (rawHash !== undefined && rawHash.digest().equals(expected));
      mismatched = !ok;
      done(ok ? null : integrityMismatch());
    },
  });
  // `pipe` does not pass errors on: a body cut off at the size limit must fail the check stream too.
  decoded.on('error', (error) => checker.destroy(error));
  decoded.pipe(checker);
  return { stream: checker, mismatched: () => mismatched };
}
