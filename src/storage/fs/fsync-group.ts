/**
 * Group commit for folder fsyncs. Many writers committing into one folder each need "my
 * rename is durable", and one fsync of the folder after their renames serves them all:
 * a caller joins the next fsync that has not started yet, or starts one. A caller never
 * joins an fsync already running, as that one may have begun before its rename.
 *
 * Folders are kept open for their fsyncs (a put syncs two folders: opening and closing them
 * each time cost four more round trips to the thread pool) in the storage's `OpenFolders`,
 * which bounds how many stay open across all stores.
 */
import type { FsLayer } from './fs-layer.js';
import { OpenFolders } from './open-folders.js';

/** Tells the keys of different groups apart in a shared pool of open folders. */
let nextGroupId = 0;

interface FolderSyncs {
  running: Promise<void> | undefined;
  next: Promise<void> | undefined;
}

export class FsyncGroup {
  private readonly folders = new Map<string, FolderSyncs>();
  /** Folders this group has synced through `open` (closed with the group). */
  private readonly used = new Set<string>();
  private readonly id = nextGroupId++;
  private closed = false;
  private readonly open: OpenFolders;

  /** `open`: the storage's pool of open folders; by default one of the group's own. */
  constructor(
    private readonly fs: FsLayer,
    open?: OpenFolders,
  ) {
    this.open = open ?? new OpenFolders(fs);
  }

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
    if (this.closed) return this.fs.syncDir(dir);
    const key = this.keyOf(dir);
    this.used.add(key);
    await this.open.sync(key, dir);
  }

  private keyOf(dir: string): string {
    return `${this.id}\n${dir}`;
  }

  /** Closes the folders kept open (they were replaced on disk); later fsyncs open them afresh. */
  async reopen(): Promise<void> {
    const keys = [...this.used];
    this.used.clear();
    await this.open.forget(keys);
  }

  /** Closes the folders kept open; later fsyncs open and close their folder each time. */
  async close(): Promise<void> {
    this.closed = true;
    await this.reopen();
  }
}
