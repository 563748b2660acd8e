/**
 * Name claims: one object per store name holding the id of the store that took it. Taking a
 * name is one conditional write (`If-None-Match: *`, or `If-Match` over a stale claim), so of
 * two takers one wins. A claim holds its name only while the store it points at still has
 * that name; one left by a rename, a delete or a failed create is stale and taken over.
 * Claims are never deleted (a delete cannot be made conditional on RGW).
 */
import { StorageError } from '../errors.js';
import type { S3Layout } from './layout.js';
import type { Bucket } from './s3-client.js';

const CLAIM_ATTEMPTS = 4;

export interface NameClaim {
  id: string;
  etag: string;
}

export class NameClaims {
  constructor(
    private readonly bucket: Bucket,
    private readonly layout: S3Layout,
  ) {}

  /** The claim on `name`, or `null` when nobody ever took it. */
  async read(name: string): Promise<NameClaim | null> {
    const found = await this.bucket.getText(this.layout.nameClaim(name));
    return found ? { id: found.text.trim(), etag: found.etag } : null;
  }

  /**
   * Points the name's claim at `id`: a new claim, or over a stale one. `currentName` tells
   * the name a claim's store has now (`null`: no such store), which decides whether it is stale.
   */
  async take(name: string, id: string, currentName: (holderId: string) => Promise<string | null>): Promise<void> {
    const key = this.layout.nameClaim(name);
    for (let attempt = 0; attempt < CLAIM_ATTEMPTS; attempt++) {
      if ((await this.bucket.put(key, id, { contentType: 'text/plain', ifNoneMatch: '*' })) !== null) return;
      const holder = await this.read(name);
      if (!holder) continue;
      if (holder.id === id) return; // ours: a retried write whose first answer was lost
      if ((await currentName(holder.id)) === name) {
        throw new StorageError('name-not-unique', `Store name "${name}" is already taken.`);
      }
      if ((await this.bucket.put(key, id, { contentType: 'text/plain', ifMatch: holder.etag })) !== null) return;
    }
    throw new StorageError('storage-unavailable', `Store name "${name}" kept changing hands; try again.`, { retryAfterSecs: 1 });
  }
}
