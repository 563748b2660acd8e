/**
 * Crash-safe writes and deletes of one store's record files.
 *
 * A write goes, with no per-key turn held: body streamed to `.tmp/{stem}.data` (hashed,
 * counted, fsynced) -> sidecar to `.tmp/{stem}.meta` (fsynced) -> fsync `.tmp`. Then, in the
 * key's turn (writes of one key commit in the order their bodies finished): rename the body
 * into place -> fsync the folder -> if the extension changed, remove the old body (and files
 * of ours the scan found superseded) -> fsync the folder -> rename the sidecar into place.
 * Folder fsyncs of concurrent writes are shared (`FsyncGroup`). `recoverTempFolder()`
 * finishes or undoes each step. Each fsync is needed: the power-loss tests
 * (test/storage/power-loss*.test.ts) fail without any one. A rename is taken to reach the
 * disk as one change, as journaling file systems make it.
 */
import type { Readable } from 'node:stream';

import { writeBody, type WrittenBody } from './body-writer.js';
import { extensionForContentType } from '../content-types.js';
import { writeNewFileSynced, type FsHandle } from './fs-layer.js';
import { isNotFound, tempStem } from './fs-utils.js';
import { FsyncGroup } from './fsync-group.js';
import type { RecordIndex } from './record-index.js';
import { childPath, dataExtensionFor, fileStemFor, MAX_FILE_NAME_LENGTH, sidecarFileName, TEMP_DIR_NAME } from './layout.js';
import { KeyedQueue } from '../locks.js';
import { intern, RecordEntry } from './record-entry.js';
import { TEMP_DATA_SUFFIX, TEMP_META_SUFFIX } from './record-recovery.js';
import { serializeRecordMetadata } from './record-metadata.js';
import { checkConditions, hasConditions } from '../conditions.js';
import { IntegrityMismatchError } from '../errors.js';
import { removeLeftovers, removeSuperseded, removeTempFiles } from './record-cleanup.js';
import { bodyReplaced, removeOwnSidecar } from './crossed-writes.js';
import type { RecordInfo, WriteConditions } from '../types.js';
import type { RecordChange, WriteAccess } from './write-access.js';

export type { RecordChange, WriteAccess } from './write-access.js';

/** How far a put got: after a failure, whether its temp files are still to be removed. */
interface PutProgress {
  bodyMoved: boolean;
}

/** The body's file as the write left it: what its sidecar names. */
interface BodyFile {
  ino: number;
  mtimeMs: number;
}

/** Closes a written body once `pending` (its fsync and stat) settles; rejects if that failed. */
async function finishBody(handle: FsHandle, pending: Promise<unknown>): Promise<void> {
  try {
    await pending;
  } finally {
    await handle.close();
  }
}

export class RecordWrites {
  private readonly queue = new KeyedQueue();
  /** Keys whose files are being swapped right now; readers wait for these. */
  private readonly committing = new Map<string, Promise<unknown>>();
  private readonly fsyncs: FsyncGroup;
  private tempDirReady: string | undefined;
  /** Sidecars of commits that failed after their body moved, by key (see `commit`). */
  private readonly pendingSidecars = new Map<string, { metaTemp: string; fileStem: string }>();

  constructor(private readonly access: WriteAccess) {
    this.fsyncs = new FsyncGroup(access.fs, access.openFolders);
  }

  /**
   * True while writes or deletes are queued or swapping files, or a commit that failed half
   * way waits to put its sidecar in place (the index then knows better than the disk).
   */
  isBusy(): boolean {
    return !this.queue.isIdle() || this.committing.size > 0 || this.pendingSidecars.size > 0;
  }

  /** True while a write or delete of `key` is swapping its files. */
  isCommitting(key: string): boolean {
    return this.committing.has(key);
  }

  /** Settles once the swap of `key`'s files under way (if any) is done. */
  commitOf(key: string): Promise<unknown> | undefined {
    return this.committing.get(key);
  }

  /** Runs `fn` in `key`'s turn (after writes and deletes of that key queued before). */
  inKeyTurn<T>(key: string, fn: () => Promise<T>): Promise<T> {
    return this.queue.run(key, fn);
  }

  async put(
    key: string,
    body: Readable | Uint8Array,
    contentType: string,
    maxBytes: number | undefined,
    conditions?: WriteConditions,
    md5?: Buffer,
  ): Promise<RecordInfo & RecordChange> {
    const { access } = this;
    const ext = dataExtensionFor(key, extensionForContentType(contentType));
    const stem = tempStem();
    const progress: PutProgress = { bodyMoved: false };
    try {
      // The slow part, in parallel with any other write (of this key too): body and sidecar
      // written and fsynced in the temp folder.
      const openTemp = () =>
        access.lock.shared(async () => {
          access.assertAlive();
          return access.fs.open(childPath(await this.tempDir(), stem + TEMP_DATA_SUFFIX), 'wx');
        });
      let handle: FsHandle;
      try {
        handle = await openTemp();
      } catch (error) {
        if (!isNotFound(error)) throw error;
        // The temp folder (or the whole store folder: Crawlee's purge swaps `default`) was
        // replaced underneath us: look again, once. Nothing of the body was read yet.
        this.tempDirReady = undefined;
        await access.onFolderMissing();
        handle = await openTemp();
      }
      let written: WrittenBody;
      try {
        written = await writeBody(handle, body, maxBytes);
        // The uploader's digest is checked against the MD5 just computed for the ETag: a body
        // that does not match fails here, before anything moves into place.
        if (md5 && written.etag !== `"${md5.toString('hex')}"`) throw new IntegrityMismatchError();
      } catch (error) {
        await handle.close();
        throw error;
      }
      // The body's data goes to disk, and its inode and mtime are read, while its sidecar's file
      // opens: both temp files are durable before the temp folder is synced, which is all
      // recovery needs.
      const synced = handle.sync();
      const statted = handle.stat().then((stats): BodyFile => ({ ino: stats.ino, mtimeMs: stats.mtimeMs }));
      const bodySynced = finishBody(handle, Promise.all([synced, statted]));
      bodySynced.catch(() => {}); // awaited below; a failure before that must not go unhandled
      const modifiedAt = new Date(access.now());
      // The sidecar names the body's inode and mtime (see `RecordMetadataFile`).
      const sidecarFor = (fileStem: string, bodyFile: BodyFile) =>
        serializeRecordMetadata({
          key,
          contentType,
          extension: ext,
          size: written.size,
          etag: written.etag,
          modifiedAt: modifiedAt.toISOString(),
          inode: bodyFile.ino,
          bodyMtimeMs: bodyFile.mtimeMs,
          ...(fileStem !== fileStemFor(key) ? { stem: fileStem } : {}),
        });
      const { planned, bodyFile } = await access.lock.shared(async () => {
        try {
          access.assertAlive();
          const fileStem = access.stemFor(await access.load(), key);
          const tempDir = await this.tempDir();
          const sidecar = statted.then((file) => sidecarFor(fileStem, file));
          sidecar.catch(() => {}); // a failed stat fails the body too, reported there
          await writeNewFileSynced(access.fs, childPath(tempDir, stem + TEMP_META_SUFFIX), sidecar);
          await bodySynced;
          // Both temp files must be on disk before the body moves: recovery relies on them.
          await this.fsyncs.sync(tempDir);
          return { planned: fileStem, bodyFile: await statted };
        } finally {
          await bodySynced.catch(() => {});
        }
      });
      // The key's turn covers only the check of the conditions and the swap.
      return await this.queue.run(key, () =>
        access.lock.shared(async () => {
          await this.checkInTurn(key, conditions);
          return this.whileCommitting(key, () =>
            this.commit(key, stem, ext, contentType, written, bodyFile, modifiedAt, progress, planned, sidecarFor),
          );
        }),
      );
    } catch (error) {
      // Never trust a cached temp folder past an ENOENT.
      if (isNotFound(error)) this.tempDirReady = undefined;
      // A write whose body moved was settled by the commit; any other leaves nothing behind.
      if (!progress.bodyMoved) await removeTempFiles(access, stem);
      throw error;
    }
  }

  private async tempDir(): Promise<string> {
    const tempDir = childPath(this.access.dir(), TEMP_DIR_NAME);
    if (this.tempDirReady !== tempDir) {
      await this.access.fs.mkdir(tempDir);
      this.tempDirReady = tempDir;
    }
    return tempDir;
  }

  private async commit(
    key: string,
    stem: string,
    ext: string,
    contentType: string,
    written: WrittenBody,
    bodyFile: BodyFile,
    modifiedAt: Date,
    progress: PutProgress,
    planned: string,
    sidecarFor: (fileStem: string, bodyFile: BodyFile) => string,
  ): Promise<RecordInfo & RecordChange> {
    const { access } = this;
    const { fs } = access;
    access.assertAlive();
    const dir = access.dir();
    const tempDir = childPath(dir, TEMP_DIR_NAME);
    const index = await access.load();
    const previous = index.get(key);
    // Unknown after a reload: the store's byte count needs what the new body replaces.
    if (previous && previous.size === -1) await access.sizeEntries(index, [previous]);
    const fileStem = access.stemFor(index, key);
    const metaTemp = childPath(tempDir, stem + TEMP_META_SUFFIX);
    if (fileStem !== planned) {
      // A key differing only in case took the planned name meanwhile: the sidecar names the new stem.
      await fs.remove(metaTemp);
      await writeNewFileSynced(fs, metaTemp, sidecarFor(fileStem, bodyFile));
      await this.fsyncs.sync(tempDir);
    }
    const entry = new RecordEntry(key, intern(ext), true, fileStem === key ? undefined : fileStem);

    await this.retryPendingSidecars(key);
    await fs.rename(childPath(tempDir, stem + TEMP_DATA_SUFFIX), childPath(dir, entry.fileName));
    progress.bodyMoved = true;
    Object.assign(entry, {
      contentType: intern(contentType),
      size: written.size,
      etag: written.etag,
      modifiedMs: modifiedAt.getTime(),
      ino: bodyFile.ino,
      // The rename changes the ctime: it is learned at the first read.
      etagMtimeMs: bodyFile.mtimeMs,
    });
    try {
      // The body must be in place on disk before its sidecar is (else a power loss could pair
      // the new sidecar with the old body).
      await this.fsyncs.sync(dir);
      // Files the new body supersedes go before its sidecar moves, durably: the scan lets the
      // newer data file win and keeps a file no sidecar names, so an old body coming back
      // after a power loss would outlive a later delete. While the old sidecar is in place,
      // recovery removes the old body itself (it is what that sidecar describes).
      if (await removeSuperseded(this.access, key, dir, previous, entry.fileName)) await this.fsyncs.sync(dir);
      if (await bodyReplaced(access.fs, dir, entry.fileName, bodyFile.ino)) {
        // Another process's write of this key moved its body over ours meanwhile: its sidecar
        // goes (or went) beside it, never ours. Our write happened, and that one came after.
        await fs.remove(metaTemp);
        return this.superseded(index, entry, key, contentType, written, modifiedAt, previous);
      }
      // No fsync after this rename: until it is on disk, the sidecar is still durably in the
      // temp folder, and recovery puts it in place (the body it describes already is).
      await fs.rename(metaTemp, childPath(dir, sidecarFileName(fileStem)));
      if (await bodyReplaced(access.fs, dir, entry.fileName, bodyFile.ino)) {
        // Crossed in the instant between the look and the rename: our sidecar now sits beside
        // the other body. It goes (while it is still ours); that body's content type then
        // falls back to its extension's, never ours (see `sidecarFits`).
        await removeOwnSidecar(access.fs, childPath(dir, sidecarFileName(fileStem)), bodyFile.ino);
        return this.superseded(index, entry, key, contentType, written, modifiedAt, previous);
      }
    } catch (error) {
      // The new body is in place: from now on the record is the new one, whatever the disk
      // says next. The index takes it before any reader looks (never the new body with the
      // old content type or ETag); the sidecar waits in the temp folder for a retry (the next
      // commit in this store) or for recovery.
      access.adopt(index, entry);
      this.pendingSidecars.set(key, { metaTemp, fileStem });
      throw error;
    }
    // A long key's old sidecar under another stem: alone it is no record, so no fsync.
    if (previous && previous.stem !== fileStem) {
      const oldSidecar = sidecarFileName(previous.stem);
      if (oldSidecar.length <= MAX_FILE_NAME_LENGTH) await fs.remove(childPath(dir, oldSidecar));
    }
    access.adopt(index, entry);
    return {
      key,
      contentType,
      size: written.size,
      etag: written.etag,
      modifiedAt,
      sizeDelta: written.size - Math.max(0, previous?.size ?? 0),
    };
  }

  /**
   * The answer to a write another process's write of the same key superseded before it
   * finished: the index learns the record from disk at the next read.
   */
  private superseded(
    index: RecordIndex,
    entry: RecordEntry,
    key: string,
    contentType: string,
    written: WrittenBody,
    modifiedAt: Date,
    previous: RecordEntry | undefined,
  ): RecordInfo & RecordChange {
    this.access.adopt(index, new RecordEntry(key, entry.ext, true, entry.longStem));
    return { key, contentType, size: written.size, etag: written.etag, modifiedAt, sizeDelta: written.size - Math.max(0, previous?.size ?? 0) };
  }

  /** Returns the removed record's size, or `null` when there was none. */
  async delete(key: string, conditions?: WriteConditions): Promise<number | null> {
    const { access } = this;
    return this.queue.run(key, () =>
      access.lock.shared(async () => {
        await this.checkInTurn(key, conditions);
        return this.whileCommitting(key, async () => {
          access.assertAlive();
          const index = await access.load();
          const entry = index.get(key);
          if (!entry) {
            await removeLeftovers(this.access, key);
            return null;
          }
          const dir = access.dir();
          if (entry.size === -1) await access.sizeEntries(index, [entry]);
          // Bodies first (this one and older ones of ours the scan found), made durable: a
          // power loss after that leaves only a sidecar, which the scan drops; never a body
          // without its sidecar, which the scan would take for a record.
          await access.fs.remove(childPath(dir, entry.fileName));
          await removeLeftovers(this.access, key);
          await this.fsyncs.sync(dir);
          await access.fs.remove(childPath(dir, sidecarFileName(entry.stem)));
          access.forget(index, key);
          return Math.max(0, entry.size);
        });
      }),
    );
  }

  /**
   * Throws `precondition-failed` unless `conditions` hold for the record as a read sees it now.
   * Called in the key's turn: no write or delete of ours commits between the check and the swap.
   */
  private async checkInTurn(key: string, conditions: WriteConditions | undefined): Promise<void> {
    if (!hasConditions(conditions)) return;
    this.access.assertAlive();
    checkConditions(conditions, key, await this.access.currentEtag(key));
  }

  /** Resolves once all writes and deletes started so far are finished. */
  async drain(): Promise<void> {
    await this.queue.drain();
  }

  /** Forgets what was known of the folder (its temp folder, open handles): it was replaced. */
  async folderReplaced(): Promise<void> {
    this.tempDirReady = undefined;
    this.pendingSidecars.clear();
    await this.fsyncs.reopen();
  }

  /** Closes the folders kept open for fsyncs, once writes are done. */
  async close(): Promise<void> {
    await this.fsyncs.close();
  }

  private async whileCommitting<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const work = fn();
    const settled = work.then(
      () => undefined,
      () => undefined,
    );
    this.committing.set(key, settled);
    try {
      return await work;
    } finally {
      if (this.committing.get(key) === settled) this.committing.delete(key);
    }
  }

  /** True while a sidecar of `key` waits in the temp folder (its commit failed half way). */
  isSettling(key: string): boolean {
    return this.pendingSidecars.has(key);
  }

  /**
   * Puts in place the sidecars of commits that failed after their body moved (call in a
   * commit). `key`'s own is dropped instead: the write being committed supersedes it.
   */
  private async retryPendingSidecars(key: string): Promise<void> {
    if (this.pendingSidecars.size === 0) return;
    const { access } = this;
    for (const [pendingKey, { metaTemp, fileStem }] of [...this.pendingSidecars]) {
      try {
        if (pendingKey === key) await access.fs.remove(metaTemp);
        else await access.fs.rename(metaTemp, childPath(access.dir(), sidecarFileName(fileStem)));
        this.pendingSidecars.delete(pendingKey);
      } catch {
        // Still failing: tried again at the next commit, or by recovery.
      }
    }
  }
}
