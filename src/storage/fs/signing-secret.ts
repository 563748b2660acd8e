/**
 * The signing secret in a storage folder: `{storageDir}/.apify-kv/signing-secret`, so that
 * signed URLs and each store's `urlSigningSecretKey` stay valid across restarts. Only a server
 * asks for it, so read-only commands never create the file.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';

import { newSecretText, parseSecret, SECRET_DIR_NAME, SECRET_FILE_NAME } from '../signing-secret.js';

export function secretFilePath(storageDir: string): string {
  return path.join(storageDir, SECRET_DIR_NAME, SECRET_FILE_NAME);
}

/**
 * Reads the secret, or creates it (32 random bytes as hex, mode 0600). Creation writes a
 * temp file, fsyncs it and links it into place, so a crash never leaves a torn secret and two
 * servers starting at once agree on one. A file that is not a secret we wrote is an error,
 * never overwritten.
 */
export async function loadOrCreateSecret(storageDir: string): Promise<Buffer> {
  const file = secretFilePath(storageDir);
  const existing = await readSecret(file);
  if (existing) return existing;

  const dir = path.dirname(file);
  await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
  const temp = path.join(dir, `.${SECRET_FILE_NAME}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await fsp.open(temp, 'wx', 0o600);
  try {
    await handle.writeFile(newSecretText());
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await fsp.link(temp, file);
  } catch (error) {
    // Another server made one first: use theirs.
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    await fsp.rm(temp, { force: true });
  }
  const secret = await readSecret(file);
  if (!secret) throw new Error(`The signing secret file ${file} could not be created.`);
  return secret;
}

async function readSecret(file: string): Promise<Buffer | null> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  return parseSecret(text, `file ${file}`);
}
