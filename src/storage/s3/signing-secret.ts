/**
 * The servers' signing secret in the bucket, `PREFIX/.apify-kv/signing-secret`: read, or
 * created with `If-None-Match: *` so that servers starting at once over one prefix agree on
 * one (the loser of the race reads the winner's). A damaged object is an error, never replaced.
 */
import { newSecretText, parseSecret } from '../signing-secret.js';
import type { Bucket } from './s3-client.js';

export async function loadOrCreateS3Secret(bucket: Bucket, key: string): Promise<Buffer> {
  const where = `object s3://${bucket.name}/${key}`;
  const existing = await bucket.getText(key);
  if (existing) return parseSecret(existing.text, where);
  const text = newSecretText();
  if ((await bucket.put(key, text, { contentType: 'text/plain', ifNoneMatch: '*' })) !== null) return parseSecret(text, where);
  // Another server wrote one first: use theirs.
  const theirs = await bucket.getText(key);
  if (!theirs) throw new Error(`The signing secret ${where} could not be created (it was written and removed meanwhile).`);
  return parseSecret(theirs.text, where);
}
