/**
 * AWS Signature Version 4 for the object requests the backend sends itself (see
 * `object-requests.ts`): every header given but the Content-Type is signed, the payload by its SHA-256.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
 */
import { createHash, createHmac } from 'node:crypto';

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/**
 * Sent but not signed: SigV4 does not ask for it, and servers canonicalize blanks in a value
 * differently (RGW 16.2 refuses a Content-Type with a tab that AWS's rules would accept).
 */
const UNSIGNED = new Set(['content-type']);

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** A path segment or key as SigV4 and S3 want it: RFC 3986, `/` kept between segments. */
export function encodeObjectPath(path: string): string {
  return path
    .split('/')
    .map((part) => encodeURIComponent(part).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`))
    .join('/');
}

export class SigV4Signer {
  /** The signing key of one day (it depends on nothing else that changes). */
  private cached: { day: string; secret: string; key: Buffer } | null = null;

  constructor(private readonly region: string) {}

  /**
   * Adds `x-amz-date`, `x-amz-content-sha256`, the session token if any and `authorization`
   * to `headers` (lower-case names, `host` among them), signing all but `UNSIGNED`. `path` is
   * already encoded.
   */
  sign(
    method: string,
    path: string,
    headers: Record<string, string>,
    body: Uint8Array | undefined,
    credentials: S3Credentials,
    now = new Date(),
  ): void {
    const stamp = now.toISOString().replace(/[-:]|\.\d{3}/g, ''); // 20260102T030405Z
    const day = stamp.slice(0, 8);
    headers['x-amz-date'] = stamp;
    headers['x-amz-content-sha256'] = body && body.byteLength > 0 ? createHash('sha256').update(body).digest('hex') : EMPTY_SHA256;
    if (credentials.sessionToken) headers['x-amz-security-token'] = credentials.sessionToken;
    const names = Object.keys(headers).filter((name) => !UNSIGNED.has(name)).sort();
    const signedHeaders = names.join(';');
    let canonicalHeaders = '';
    for (const name of names) canonicalHeaders += `${name}:${headers[name]!.trim().replace(/ +/g, ' ')}\n`;
    const canonicalRequest = `${method}\n${path}\n\n${canonicalHeaders}\n${signedHeaders}\n${headers['x-amz-content-sha256']}`;
    const scope = `${day}/${this.region}/s3/aws4_request`;
    const toSign = `AWS4-HMAC-SHA256\n${stamp}\n${scope}\n${createHash('sha256').update(canonicalRequest).digest('hex')}`;
    const signature = createHmac('sha256', this.signingKey(day, credentials.secretAccessKey)).update(toSign).digest('hex');
    headers.authorization = `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
  }

  private signingKey(day: string, secret: string): Buffer {
    if (this.cached?.day !== day || this.cached.secret !== secret) {
      const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();
      const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, day), this.region), 's3'), 'aws4_request');
      this.cached = { day, secret, key };
    }
    return this.cached.key;
  }
}
