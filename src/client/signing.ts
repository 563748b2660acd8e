/**
 * Signatures of public URLs, built as the Apify platform builds them (the construction of
 * `@apify/utilities`): the first 30 hex digits of an HMAC-SHA256, written in base 62. The HMAC
 * comes from the platform module: `node:crypto` in Node, WebCrypto in the browser.
 */
import { platform } from './platform/node.js';

const BASE62 = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** Signature of `message` with a store's `urlSigningSecretKey` (a record's key, for its public URL). */
export async function createHmacSignature(secretKey: string, message: string): Promise<string> {
  return signatureOfHmac(await platform.hmacSha256Hex(secretKey, message));
}

/** The signature made of an HMAC-SHA256 in hex: its first 30 digits, in base 62. */
export function signatureOfHmac(hmacHex: string): string {
  let n = BigInt(`0x${hmacHex.slice(0, 30)}`);
  let out = '';
  do {
    out = BASE62[Number(n % 62n)] + out;
    n /= 62n;
  } while (n > 0n);
  return out;
}

/**
 * Signature that opens a store's key list (and its records): `version.expiresAt.hmac` in base64url,
 * the HMAC taken over `version.expiresAt.storeId`. `expiresAt` 0 never expires.
 */
export async function createStorageContentSignature(o: {
  resourceId: string;
  urlSigningSecretKey: string;
  /** Expiry time in ms since the epoch; 0 = never. */
  expiresAt: number;
  version?: number;
}): Promise<string> {
  const version = o.version ?? 0;
  const hmac = await createHmacSignature(o.urlSigningSecretKey, `${version}.${o.expiresAt}.${o.resourceId}`);
  // Plain ASCII: btoa takes it as it is.
  return btoa(`${version}.${o.expiresAt}.${hmac}`).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
