/**
 * Group commit for folder fsyncs. Many writers committing into one folder each need "my
 * rename is durable", and one fsync of the folder after their renames serves them all:
 * a caller joins the next fsync that has not started yet, or starts one. A caller never
 * joins an fsync already running, as that one may have begun before its rename.
 *
 * Each folder is opened once and kept open for its fsyncs (a put syncs two folders: opening
 * and closing them each time cost four more round trips to the thread pool) until `close()`.
 */
import type { DirHandle, FsLayer } from './fs-layer.js';

interface FolderSyncs {
  running: Promise<void> | undefined;
  next: Promise<void> | undefined;
}

export class FsyncGroup {
  private readonly folders = new Map<string, FolderSyncs>();
  /** Open folders; `null` where a folder cannot be kept open (then each fsync opens it). */
  private readonly handles = new Map<string, Promise<DirHandle | null>>();
  private closed = false;

  constructor(private readonly fs: FsLayer) {}

  /** Resolves once every change made in `dir` before this call is durable. */
  sync(dir: string): Promise<void> {
    let state = this.folders.get(dir);
    if (!state) {
      state = { running: undefined, next: undefined };
      this.folders.set(dir, state);
    }
    if (state.next) return state.next;
    if (!state.running) return this.start(dir, state);
    const after = state.running.then(
      () => undefined,
      () => undefined,
    );
    state.next = after.then(() => {
      state.next = undefined;
      return this.start(dir, state);
    });
    return state.next;
  }

  private start(dir: string, state: FolderSyncs): Promise<void> {
    const run = this.syncNow(dir).finally(() => {
      if (state.running === run) state.running = undefined;
      if (!state.running && !state.next) this.folders.delete(dir);
    });
    state.running = run;
    return run;
  }

  private async syncNow(dir: string): Promise<void> {
    if (this.closed || !this.fs.openDir) return this.fs.syncDir(dir);
    let opening = this.handles.get(dir);
    if (!opening) {
      opening = this.fs.openDir(dir).catch(() => null);
      this.handles.set(dir, opening);
    }
    const handle = await opening;
    if (!handle) {
      this.handles.delete(dir);
      return this.fs.syncDir(dir);
    }
    try {
      await handle.sync();
    } catch (error) {
      // Not kept open after a failure; the next fsync opens the folder afresh.
      if (this.handles.get(dir) === opening) this.handles.delete(dir);
      await handle.close().catch(() => {});
      throw error;
    }
  }

  /** Closes the folders kept open (they were replaced on disk); later fsyncs open them afresh. */
  async reopen(): Promise<void> {
    const handles = [...this.handles.values()];
    this.handles.clear();
    await Promise.all(handles.map(async (opening) => (await opening)?.close().catch(() => {})));
  }

  /** Closes the folders kept open; later fsyncs open and close their folder each time. */
  async close(): Promise<void> {
    this.closed = true;
    const handles = [...this.handles.values()];
    this.handles.clear();
    await Promise.all(handles.map(async (opening) => (await opening)?.close().catch(() => {})));
  }
}
