/**
 * Signed URLs, all derived from one server secret (random per server unless configured):
 *
 * - each store's `urlSigningSecretKey`, and the public-URL signatures made with it in the
 *   Apify format (so the official client's `getRecordPublicUrl` / `createKeysPublicUrl` work);
 * - direct upload URLs: `PUT .../records/{key}/direct-upload?expires=T&signature=S`, accepted
 *   without a token and beyond the payload limit until `T`.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const BASE62 = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

function toBase62(num: bigint): string {
  if (num === 0n) return '0';
  let out = '';
  while (num > 0n) {
    out = BASE62[Number(num % 62n)] + out;
    num /= 62n;
  }
  return out;
}

/** Apify's signature: first 30 hex digits of HMAC-SHA256, in base 62. */
export function apifyHmac(secretKey: string, message: string): string {
  const hex = createHmac('sha256', secretKey).update(message).digest('hex').slice(0, 30);
  return toBase62(BigInt(`0x${hex}`));
}

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export class UrlSigner {
  private readonly secret: Buffer;

  constructor(secret?: string | Buffer) {
    this.secret = secret === undefined ? randomBytes(32) : Buffer.from(secret);
    if (this.secret.length < 16) throw new Error('The signing secret must be at least 16 bytes.');
  }

  /** The store's `urlSigningSecretKey`: stable for a given server secret and store id. */
  storeSecretKey(storeId: string): string {
    return createHmac('sha256', this.secret).update(`url-signing-key\n${storeId}`).digest('base64url').slice(0, 24);
  }

  /** Signature for one record's public URL (HMAC of the key). */
  recordSignature(storeId: string, key: string): string {
    return apifyHmac(this.storeSecretKey(storeId), key);
  }

  /** Signature for a store's keys/records public URLs; `expiresAt` 0 = never expires. */
  storeContentSignature(storeId: string, expiresAt = 0): string {
    const hmac = apifyHmac(this.storeSecretKey(storeId), `0.${expiresAt}.${storeId}`);
    return Buffer.from(`0.${expiresAt}.${hmac}`).toString('base64url');
  }

  verifyRecordSignature(storeId: string, key: string, signature: string): boolean {
    return safeEqual(this.recordSignature(storeId, key), signature);
  }

  verifyStoreContentSignature(storeId: string, signature: string, nowMillis: number): boolean {
    const parts = Buffer.from(signature, 'base64url').toString('utf8').split('.');
    if (parts.length !== 3 || !/^\d{1,4}$/.test(parts[0]!) || !/^\d{1,16}$/.test(parts[1]!)) return false;
    const [version, expires, hmac] = parts as [string, string, string];
    const expected = apifyHmac(this.storeSecretKey(storeId), `${version}.${expires}.${storeId}`);
    if (!safeEqual(expected, hmac)) return false;
    const expiresAt = Number(expires);
    return expiresAt === 0 || expiresAt > nowMillis;
  }

  directUploadSignature(storeId: string, key: string, expiresAt: number): string {
    return createHmac('sha256', this.secret)
      .update(`direct-upload\n${storeId}\n${key}\n${expiresAt}`)
      .digest('base64url');
  }

  /** Valid signature and not expired. */
  verifyDirectUpload(storeId: string, key: string, expires: string | undefined, signature: string | undefined, nowMillis: number): 'ok' | 'invalid' | 'expired' {
    if (!expires || !signature || !/^\d{1,16}$/.test(expires)) return 'invalid';
    if (!safeEqual(this.directUploadSignature(storeId, key, Number(expires)), signature)) return 'invalid';
    return Number(expires) > nowMillis ? 'ok' : 'expired';
  }
}
