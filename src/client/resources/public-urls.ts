/** Public URLs of a store's records and keys, signed when the store's signing key is known. */
import { encodePathSegment } from '../http/http-client.js';
import { createHmacSignature, createStorageContentSignature } from '../signing.js';

/** A store's `urlSigningSecretKey` and its id. */
export interface SigningKey {
  key: string;
  storeId: string;
}

/** The record's URL under `storeUrl`, with a signature that opens it without a token when `secret` is known. */
export async function recordPublicUrl(storeUrl: string, key: string, secret: SigningKey | undefined): Promise<string> {
  const url = new URL(`${storeUrl}/records/${encodePathSegment(key)}`);
  if (secret) url.searchParams.set('signature', await createHmacSignature(secret.key, key));
  return url.href;
}

/** The keys listing's URL with `query`, signed when `secret` is known (expiring at `expiresAt`, 0: never). */
export async function keysPublicUrl(
  storeUrl: string,
  query: Record<string, unknown>,
  secret: SigningKey | undefined,
  expiresAt: number,
): Promise<string> {
  const url = new URL(`${storeUrl}/keys`);
  if (secret) {
    const signature = await createStorageContentSignature({ resourceId: secret.storeId, urlSigningSecretKey: secret.key, expiresAt });
    url.searchParams.set('signature', signature);
  }
  for (const [name, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(name, String(value));
  return url.href;
}
