/**
 * Group commit for folder fsyncs. Many writers committing into one folder each need "my
 * rename is durable", and one fsync of the folder after their renames serves them all:
 * a caller joins the next fsync that has not started yet, or starts one. A caller never
 * joins an fsync already running, as that one may have begun before its rename.
 */
import type { FsLayer } from './fs-layer.js';

interface FolderSyncs {
  running: Promise<void> | undefined;
  next: Promise<void> | undefined;
}

export class FsyncGroup {
  private readonly folders = new Map<string, FolderSyncs>();

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
    const run = this.fs.syncDir(dir).finally(() => {
      if (state.running === run) state.running = undefined;
      if (!state.running && !state.next) this.folders.delete(dir);
    });
    state.running = run;
    return run;
  }
}
