import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';

/** md5 hex and length of a stream's bytes. */
export async function md5OfStream(stream: Readable): Promise<{ md5: string; size: number }> {
  const hash = createHash('md5');
  let size = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { md5: hash.digest('hex'), size };
}

/** The md5 hex inside an ETag when it is one (`"9e10..."`, `W/"9e10..."`); else null. */
export function md5FromEtag(etag: string | null | undefined): string | null {
  if (!etag) return null;
  const bare = etag.replace(/^W\//, '').replace(/^"|"$/g, '').toLowerCase();
  return /^[0-9a-f]{32}$/.test(bare) ? bare : null;
}
