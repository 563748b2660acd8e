/**
 * Following a folder that other processes write into: `fs.watch` reports names as they
 * change (coalesced over a short delay); where watching fails or is not trusted, a periodic
 * full rescan takes over. Timers and watchers never keep the process alive.
 */
import { watch, type FSWatcher } from 'node:fs';

/** Rescan period once watching has failed. */
export const FALLBACK_RESCAN_MILLIS = 1000;
/** Events for one name within this delay are handled once. */
const COALESCE_MILLIS = 50;

export interface FolderWatch {
  /** Names that changed (files or folders directly inside the folder). */
  onNames(names: string[]): Promise<void>;
  /** Everything may have changed. */
  onRescan(): Promise<void>;
}

/** Starts watching `dir`; returns a stopper. `rescanIntervalMillis` > 0 rescans even while watching works. */
export function watchFolder(dir: string, handler: FolderWatch, rescanIntervalMillis = 0): () => void {
  let watcher: FSWatcher | undefined;
  let poller: NodeJS.Timeout | undefined;
  let flushTimer: NodeJS.Timeout | undefined;
  let stopped = false;
  let busy: Promise<void> = Promise.resolve();
  const names = new Set<string>();
  let rescanWanted = false;

  // One batch at a time; a failure (a folder removed meanwhile) waits for the next event or rescan.
  const run = (job: () => Promise<void>) => {
    busy = busy.then(job).catch(() => undefined);
  };
  const flush = () => {
    flushTimer = undefined;
    if (stopped) return;
    if (rescanWanted) {
      rescanWanted = false;
      names.clear();
      run(() => handler.onRescan());
      return;
    }
    const batch = [...names];
    names.clear();
    run(() => handler.onNames(batch));
  };
  const schedule = () => {
    if (flushTimer || stopped) return;
    flushTimer = setTimeout(flush, COALESCE_MILLIS);
    flushTimer.unref();
  };
  const startPolling = (millis: number) => {
    if (poller || stopped) return;
    poller = setInterval(() => {
      rescanWanted = true;
      schedule();
    }, millis);
    poller.unref();
  };

  try {
    watcher = watch(dir, { persistent: false }, (_event, name) => {
      if (name) names.add(String(name));
      else rescanWanted = true;
      schedule();
    });
    watcher.on('error', () => {
      watcher?.close();
      watcher = undefined;
      startPolling(FALLBACK_RESCAN_MILLIS);
    });
  } catch {
    startPolling(FALLBACK_RESCAN_MILLIS);
  }
  if (rescanIntervalMillis > 0) startPolling(rescanIntervalMillis);

  return () => {
    stopped = true;
    watcher?.close();
    if (poller) clearInterval(poller);
    if (flushTimer) clearTimeout(flushTimer);
  };
}
