import type { StoreInfo } from './types.js';

export const DEFAULT_UNNAMED_RETENTION_MILLIS = 7 * 24 * 60 * 60 * 1000;
export const DEFAULT_SWEEP_INTERVAL_MILLIS = 60 * 60 * 1000;

/**
 * Named stores are kept, and so is every store found on disk; unnamed stores this server
 * created (`temporary`) expire a retention period after their last access.
 */
export function isExpired(info: Pick<StoreInfo, 'name' | 'accessedAt' | 'temporary'>, now: number, retentionMillis: number): boolean {
  return info.name === null && info.temporary === true && info.accessedAt.getTime() + retentionMillis <= now;
}

/** Runs `sweep` every `intervalMillis` without keeping the process alive. Returns a stopper. */
export function startSweeper(sweep: () => Promise<unknown>, intervalMillis: number): () => void {
  if (!(intervalMillis > 0)) return () => {};
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    // A failed sweep is retried on the next tick; it must not crash the process.
    sweep()
      .catch(() => undefined)
      .finally(() => (running = false));
  }, intervalMillis);
  timer.unref();
  return () => clearInterval(timer);
}
