/**
 * Signed URLs, all derived from one server secret (random per server unless configured):
 *
 * - each store's `urlSigningSecretKey`, and the public-URL signatures made with it in the
 *   Apify format (so the official client's `getRecordPublicUrl` / `createKeysPublicUrl` work);
 * - direct upload URLs: `PUT .../records/{key}/direct-upload?expires=T&signature=S`, accepted
 *   without a token and beyond the payload limit until `T`.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual, type Hash } from 'node:crypto';

const BASE62 = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
/** Store keys remembered per signer (each is an HMAC to compute). */
const MAX_REMEMBERED_STORE_KEYS = 10_000;
/** Record signatures remembered (a keys page signs 1,000 URLs; listing it again should not). */
const MAX_REMEMBERED_RECORD_SIGNATURES = 50_000;

/**
 * The first 120 bits of a digest (30 hex digits) in base 62, as Apify writes them: long
 * division over four 30-bit limbs, which is much cheaper than a BigInt per signature.
 */
function toBase62(digest: Buffer): string {
  // 120 bits = 15 bytes, as 4 limbs of 30 bits, most significant first.
  const limbs = [0, 0, 0, 0];
  for (let bit = 0; bit < 120; bit += 8) {
    const byte = digest[bit >> 3]!;
    for (let b = 7; b >= 0; b--) {
      const position = bit + (7 - b);
      const limb = Math.floor(position / 30);
      limbs[limb] = limbs[limb]! * 2 + ((byte >> b) & 1);
    }
  }
  let out = '';
  while (limbs[0] !== 0 || limbs[1] !== 0 || limbs[2] !== 0 || limbs[3] !== 0) {
    let rest = 0;
    for (let i = 0; i < 4; i++) {
      const value = rest * 0x40000000 + limbs[i]!;
      limbs[i] = Math.floor(value / 62);
      rest = value % 62;
    }
    out = BASE62[rest] + out;
  }
  return out === '' ? '0' : out;
}

/**
 * HMAC-SHA256 with one key for many messages: the key's inner and outer hash states are made
 * once and copied per message (RFC 2104), which is what costs most in `createHmac`.
 */
class Hmac256 {
  private readonly inner: Hash;
  private readonly outer: Hash;

  constructor(key: string | Buffer) {
    let block = Buffer.from(key);
    if (block.length > 64) block = createHash('sha256').update(block).digest();
    const padded = Buffer.alloc(64);
    block.copy(padded);
    this.inner = createHash('sha256').update(padded.map((b) => b ^ 0x36));
    this.outer = createHash('sha256').update(padded.map((b) => b ^ 0x5c));
  }

  digest(message: string): Buffer {
    return this.outer.copy().update(this.inner.copy().update(message).digest()).digest();
  }
}

/** Apify's signature: first 30 hex digits of HMAC-SHA256, in base 62. */
export function apifyHmac(secretKey: string, message: string): string {
  return toBase62(createHmac('sha256', secretKey).update(message).digest());
}

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export class UrlSigner {
  private readonly secret: Buffer;
  /** Per store: its `urlSigningSecretKey` and an HMAC ready to sign with it. */
  private readonly storeKeys = new Map<string, { key: string; hmac: Hmac256; contentSignature?: string }>();
  private readonly recordSignatures = new Map<string, string>();

  constructor(secret?: string | Buffer) {
    this.secret = secret === undefined ? randomBytes(32) : Buffer.from(secret);
    if (this.secret.length < 16) throw new Error('The signing secret must be at least 16 bytes.');
  }

  private storeKey(storeId: string): { key: string; hmac: Hmac256; contentSignature?: string } {
    let entry = this.storeKeys.get(storeId);
    if (!entry) {
      const key = createHmac('sha256', this.secret).update(`url-signing-key\n${storeId}`).digest('base64url').slice(0, 24);
      entry = { key, hmac: new Hmac256(key) };
      if (this.storeKeys.size >= MAX_REMEMBERED_STORE_KEYS) this.storeKeys.clear();
      this.storeKeys.set(storeId, entry);
    }
    return entry;
  }

  /** The store's `urlSigningSecretKey`: stable for a given server secret and store id. */
  storeSecretKey(storeId: string): string {
    return this.storeKey(storeId).key;
  }

  /** Signature for one record's public URL (HMAC of the key). */
  recordSignature(storeId: string, key: string): string {
    const id = `${storeId}/${key}`;
    let signature = this.recordSignatures.get(id);
    if (signature === undefined) {
      signature = toBase62(this.storeKey(storeId).hmac.digest(key));
      // Oldest first out, so a long listing does not grow it without bound.
      if (this.recordSignatures.size >= MAX_REMEMBERED_RECORD_SIGNATURES) {
        this.recordSignatures.delete(this.recordSignatures.keys().next().value!);
      }
      this.recordSignatures.set(id, signature);
    }
    return signature;
  }

  /** Signature for a store's keys/records public URLs; `expiresAt` 0 = never expires. */
  storeContentSignature(storeId: string, expiresAt = 0): string {
    const entry = this.storeKey(storeId);
    // The one that never expires is in every store view: made once per store.
    if (expiresAt === 0 && entry.contentSignature !== undefined) return entry.contentSignature;
    const hmac = toBase62(entry.hmac.digest(`0.${expiresAt}.${storeId}`));
    const signature = Buffer.from(`0.${expiresAt}.${hmac}`).toString('base64url');
    if (expiresAt === 0) entry.contentSignature = signature;
    return signature;
  }

  verifyRecordSignature(storeId: string, key: string, signature: string): boolean {
    return safeEqual(this.recordSignature(storeId, key), signature);
  }

  verifyStoreContentSignature(storeId: string, signature: string, nowMillis: number): boolean {
    const parts = Buffer.from(signature, 'base64url').toString('utf8').split('.');
    if (parts.length !== 3 || !/^\d{1,4}$/.test(parts[0]!) || !/^\d{1,16}$/.test(parts[1]!)) return false;
    const [version, expires, hmac] = parts as [string, string, string];
    const expected = toBase62(this.storeKey(storeId).hmac.digest(`${version}.${expires}.${storeId}`));
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
