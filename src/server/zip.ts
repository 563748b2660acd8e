/**
 * `GET .../records`: all records (optionally by key prefix) as one ZIP, streamed with
 * backpressure: one record is open at a time, and the next is opened only once the client has
 * taken the previous one, so memory stays flat however many records the store holds.
 */
import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { KeyValueStorage, StoreInfo, StoredRecord } from '../storage/types.js';
import { ZipWriter } from './zip-writer.js';

const PAGE = 1000;

/** Already-compressed formats gain nothing from deflate. */
function worthCompressing(contentType: string): boolean {
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  return (
    type.startsWith('text/') ||
    type.endsWith('+json') ||
    type.endsWith('+xml') ||
    ['application/json', 'application/xml', 'application/javascript', 'application/octet-stream'].includes(type)
  );
}

export async function sendRecordsZip(
  res: ServerResponse,
  storage: KeyValueStorage,
  store: StoreInfo,
  prefix: string | undefined,
  headOnly: boolean,
): Promise<void> {
  const fileName = `${store.name ?? store.id}.zip`;
  const headers = {
    'Content-Type': 'application/zip',
    'Content-Disposition': `attachment; filename="${fileName}"`,
  };
  // Read the first page before answering, so a storage error can still be a clean error response.
  let page = await storage.listKeys(store.id, { limit: PAGE, prefix });
  if (headOnly) {
    res.writeHead(200, headers);
    res.end();
    return;
  }

  const zip = new ZipWriter(res);
  let current: Readable | undefined;
  let stopped = false;
  res.on('close', () => {
    stopped = true;
    // The client left: stop reading the record being sent.
    current?.destroy();
  });
  res.writeHead(200, headers);

  try {
    for (;;) {
      for (const item of page.items) {
        if (stopped) break;
        const opened = await openRecord(storage, store.id, item.key);
        if (!opened) continue; // deleted meanwhile
        current = opened.stream;
        // One record at a time, written as fast as the client reads.
        await zip.add(opened.record.key, opened.stream, {
          mtime: opened.record.modifiedAt,
          compress: worthCompressing(opened.record.contentType),
          size: opened.record.size,
        });
        current = undefined;
      }
      if (stopped || !page.isTruncated || page.nextExclusiveStartKey === null) break;
      page = await storage.listKeys(store.id, { limit: PAGE, prefix, exclusiveStartKey: page.nextExclusiveStartKey });
    }
    if (!stopped) await zip.end();
  } catch (err) {
    // Headers are out; the only honest signal left is a broken transfer.
    res.destroy(err as Error);
  }
}

/** Attempts at opening a record that keeps being replaced between its lookup and its open. */
const OPEN_ATTEMPTS = 5;

/**
 * Looks a record up and opens its body. The open file is the version served, whatever
 * happens to the record afterwards; a record replaced between lookup and open is looked
 * up again. `null` when it is gone.
 */
async function openRecord(
  storage: KeyValueStorage,
  storeId: string,
  key: string,
): Promise<{ record: StoredRecord; stream: Readable } | null> {
  for (let attempt = 1; ; attempt++) {
    const record = await storage.getRecord(storeId, key);
    if (!record) return null;
    const stream = record.openStream();
    const error = await whenOpen(stream);
    if (!error) return { record, stream };
    if (attempt === OPEN_ATTEMPTS) throw error;
  }
}

/** Resolves once the stream has its file open (and data to read), or with the error that stopped it. */
async function whenOpen(stream: Readable): Promise<Error | undefined> {
  const error = await new Promise<Error | undefined>((resolve) => {
    const done = (err?: Error) => {
      stream.off('readable', onReadable);
      stream.off('error', done);
      resolve(err);
    };
    const onReadable = () => done();
    stream.on('readable', onReadable);
    stream.on('error', done);
  });
  // Later errors reach the caller through the pipeline that reads it; until then, none may go unhandled.
  if (!error) stream.on('error', () => {});
  // Let the stream notice it has no 'readable' listener left, so a pipe can make it flow.
  await new Promise((resolve) => process.nextTick(resolve));
  return error;
}
