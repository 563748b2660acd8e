/**
 * Progress of a record body going up or down: what the user's callback sees, and the guard that
 * stands between it and the adapters' raw counts.
 */

/** How far a body has travelled, in bytes of the body. `total` is undefined while it is unknown. */
export interface TransferProgress {
  loaded: number;
  total?: number;
}

/** A progress callback. What it throws (or rejects with) is ignored: it never breaks the request. */
export type ProgressCallback = (progress: TransferProgress) => void;

/** The progress callbacks of a record read or write. */
export interface ProgressOptions {
  /** Called as the body is sent (also to a direct-upload URL), with `{ loaded, total }`. */
  onUploadProgress?: ProgressCallback;
  /** Called as the body arrives (for a stream, as it is read), with `{ loaded, total }`. */
  onDownloadProgress?: ProgressCallback;
}

/** One direction of one call, between the adapter's raw counts and the user's callback. */
export interface ProgressReporter {
  /** An adapter's count: `loaded` bytes on the wire so far, of `total` when it says. */
  report(loaded: number, total?: number): void;
  /** The transfer ended: the final count, once, even if the adapter's last event is still pending. */
  finish(received?: number): void;
}

/**
 * A reporter for `callback`. Counts only move forward: an adapter's late or repeated event is
 * dropped, and so are a retried attempt's counts until it passes the furthest point reached. A callback that throws is not called again for this call, and the
 * request carries on. `size` is the body's size when the client knows it (uploads; adapters report
 * downloads' totals); `wireSize` the bytes on the wire when they differ (a compressed upload).
 */
export function progressReporter(callback: ProgressCallback | undefined, size?: number, wireSize?: number): ProgressReporter {
  let last = -1;
  let whole: number | undefined;
  const emit = (loaded: number) => {
    last = loaded;
    try {
      const result: unknown = callback?.({ loaded, total: whole });
      // An async callback's rejection is the callback's own affair, not an unhandled one.
      if (result instanceof Promise) result.catch(() => undefined);
    } catch {
      callback = undefined;
    }
  };
  return {
    report(loaded, total) {
      // A compressed body is counted on the wire and shown in bytes of the body.
      if (wireSize) loaded = Math.floor((Math.min(loaded, wireSize) * size!) / wireSize);
      whole = size ?? total;
      if (loaded > last) emit(whole === undefined ? loaded : Math.min(loaded, whole));
    },
    finish(received) {
      whole ??= size ?? received;
      if (whole !== undefined && last < whole) emit(whole);
      last = Infinity;
    },
  };
}
