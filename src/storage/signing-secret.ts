/**
 * The server's signing secret as the storage keeps it: 32 random bytes written as 64 hex digits
 * in `.apify-kv/signing-secret` beside the stores (a folder or an S3 prefix), never inside one.
 * A backend that can keep it implements `StorageBackend.loadOrCreateSecret`.
 */
import { randomBytes } from 'node:crypto';

export const SECRET_DIR_NAME = '.apify-kv';
export const SECRET_FILE_NAME = 'signing-secret';

const SECRET_PATTERN = /^[0-9a-f]{64}$/;

/** A new secret, as the text stored. */
export function newSecretText(): string {
  return `${randomBytes(32).toString('hex')}\n`;
}

/** The secret in a stored text; a clear error when the text is not one (it is never overwritten). */
export function parseSecret(text: string, where: string): Buffer {
  const hex = text.trim();
  if (!SECRET_PATTERN.test(hex)) {
    throw new Error(`The signing secret ${where} is damaged (expected 64 hex digits). Remove it to make a new one; signed URLs made before stop working.`);
  }
  return Buffer.from(hex, 'hex');
}
