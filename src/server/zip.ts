/**
 * `GET .../records`: all records (optionally by key prefix) as one ZIP, streamed.
 * Entries are added page by page and each body is opened only when the archive reaches it,
 * so a big store never has many files open or in memory at once.
 */
import type { ServerResponse } from 'node:http';
import { ZipFile } from 'yazl';
import type { KeyValueStorage, StoreInfo, StoredRecord } from '../storage/types.js';

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

  const zip = new ZipFile();
  let stopped = false;
  res.on('close', () => {
    stopped = true;
  });
  zip.on('error', (err: Error) => res.destroy(err));
  res.writeHead(200, headers);
  zip.outputStream.pipe(res);

  try {
    for (;;) {
      for (const item of page.items) {
        if (stopped) break;
        const record = await storage.getRecord(store.id, item.key);
        if (record) addRecord(zip, record, (err) => res.destroy(err));
      }
      if (stopped || !page.isTruncated || page.nextExclusiveStartKey === null) break;
      page = await storage.listKeys(store.id, { limit: PAGE, prefix, exclusiveStartKey: page.nextExclusiveStartKey });
    }
    zip.end();
  } catch (err) {
    // Headers are out; the only honest signal left is a broken transfer.
    res.destroy(err as Error);
  }
}

/**
 * Adds a record whose body is opened when the archive reaches it. By then the record may have
 * been deleted or replaced (its body stream then fails with ENOENT or a changed file): yazl puts
 * no error listener on the streams it is given, so `fail` must, or the process would crash.
 */
function addRecord(zip: ZipFile, record: StoredRecord, fail: (err: Error) => void): void {
  zip.addReadStreamLazy(record.key, { mtime: record.modifiedAt, compress: worthCompressing(record.contentType) }, (cb) => {
    let stream;
    try {
      stream = record.openStream();
    } catch (err) {
      cb(err as Error, undefined as never);
      return;
    }
    stream.on('error', fail);
    cb(null, stream);
  });
}
