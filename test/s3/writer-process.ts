// A second instance as a process of its own: writes self-checking records into one store over
// and over, printing each key once written, until it is killed. Options come as JSON in argv[2].
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';

import { S3Backend } from '../../src/storage/s3/index.js';

const { backend: options, storeId } = JSON.parse(process.argv[2]!);
const backend = new S3Backend(options);
const records = backend.records(storeId);

async function writeForever(): Promise<never> {
  for (let i = 0; ; i++) {
    const rest = randomBytes(512 * 1024 + Math.floor(Math.random() * 2 * 1024 * 1024));
    const bytes = Buffer.concat([createHash('sha256').update(rest).digest(), rest]);
    // Alternate content types, so the key's object also changes its extension.
    const contentType = i % 2 ? 'application/octet-stream' : 'image/png';
    await records.put(`r${i % 4}`, { stream: Readable.from([bytes]) }, contentType);
    process.stdout.write(`wrote ${i}\n`);
  }
}

void writeForever();
