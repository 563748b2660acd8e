/** What push and pull did (or, with --dry-run, would do), and the exit code that follows. */
import { EXIT } from '../errors.js';

export interface SyncItem {
  key: string;
  file: string;
  size: number;
  contentType: string;
}

export interface SyncProblem {
  /** The file (push) or key (pull) concerned. */
  file?: string;
  key?: string;
  reason: string;
}

export interface SyncSummary {
  command: 'push' | 'pull';
  store: { id: string | null; name: string | null };
  dir: string;
  prefix: string | null;
  dryRun: boolean;
  /** Records uploaded (push) or files downloaded (pull). */
  transferred: SyncItem[];
  unchanged: SyncItem[];
  /** Records (push) or files (pull) removed by --delete. */
  deleted: Array<{ key?: string; file?: string }>;
  /** Left out before any transfer: names that cannot be keys, folders, clashes. */
  skipped: SyncProblem[];
  /** Transfers or deletions that failed. */
  failed: SyncProblem[];
  /** Why --delete removed nothing, when it did not run. */
  deleteNotDone?: string;
  /** 0 all done, 1 something failed, 2 something was skipped (as aws s3 sync). */
  exitCode: number;
}

export function exitCodeOf(summary: Pick<SyncSummary, 'failed' | 'skipped'>): number {
  if (summary.failed.length > 0) return EXIT.FAILURE;
  if (summary.skipped.length > 0) return EXIT.USAGE;
  return EXIT.OK;
}

const byKey = (a: { key?: string; file?: string }, b: { key?: string; file?: string }) => {
  const x = a.key ?? a.file ?? '';
  const y = b.key ?? b.file ?? '';
  return x < y ? -1 : x > y ? 1 : 0;
};

/** Puts every list in key order (work finishes in any order; scripts want a stable one) and sets the exit code. */
export function finish(summary: SyncSummary): SyncSummary {
  for (const list of [summary.transferred, summary.unchanged, summary.deleted, summary.skipped, summary.failed]) list.sort(byKey);
  summary.exitCode = exitCodeOf(summary);
  return summary;
}

/** The summary as `--json` prints it: `uploaded` for push, `downloaded` for pull. */
export function summaryJson(summary: SyncSummary): Record<string, unknown> {
  const { transferred, command, ...rest } = summary;
  const name = command === 'push' ? 'uploaded' : 'downloaded';
  const { store, dir, prefix, dryRun, unchanged, deleted, skipped, failed, deleteNotDone, exitCode } = rest;
  return { command, store, dir, prefix, dryRun, [name]: transferred, unchanged, deleted, skipped, failed, ...(deleteNotDone ? { deleteNotDone } : {}), exitCode };
}

/** One line: `3 uploaded, 1 unchanged, 0 deleted, 1 skipped, 0 failed`. */
export function summaryLine(summary: SyncSummary): string {
  const verb = summary.command === 'push' ? 'uploaded' : 'downloaded';
  const would = summary.dryRun ? 'would be ' : '';
  return (
    `${summary.transferred.length} ${would}${verb}, ${summary.unchanged.length} unchanged, ` +
    `${summary.deleted.length} ${would}deleted, ${summary.skipped.length} skipped, ${summary.failed.length} failed`
  );
}
