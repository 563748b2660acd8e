/**
 * Removes a deleted store's record objects from its folder: at once, and once more after the
 * bound on how long another instance may still take the store for current (and write a record
 * into its folder). `settle()` waits for those later passes.
 */
import type { S3Layout } from './layout.js';
import type { Bucket } from './s3-client.js';
import { mapLimit } from './util.js';

/** The later pass runs this long after the bound it is given. */
const LATE_SWEEP_MARGIN_MILLIS = 250;

export class FolderCleanup {
  private readonly lateSweeps = new Set<Promise<void>>();

  constructor(
    private readonly bucket: Bucket,
    private readonly layout: S3Layout,
  ) {}

  /**
   * Deletes the folder's objects but its metadata. A folder named by the store's id is that
   * store's alone, for ever; an adopted one (named by a name) is left alone once it holds a
   * store's metadata again (`guard`).
   */
  async deleteRecords(folder: string, guard: boolean): Promise<void> {
    const prefix = this.layout.folderPrefix(folder);
    const metadataKey = this.layout.storeMetadata(folder);
    let token: string | undefined;
    do {
      const page = await this.bucket.list({ prefix, token });
      const keys = (page.Contents ?? []).map((o) => o.Key!).filter((k) => k !== metadataKey);
      if (guard && (await this.bucket.head(metadataKey))) return;
      await mapLimit(keys, 16, (k) => this.bucket.delete(k));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  /** `deleteRecords` again once `afterMillis` (and a margin) have passed; failures are dropped. */
  sweepLater(folder: string, guard: boolean, afterMillis: number): void {
    const sweep = new Promise<void>((resolve) => setTimeout(resolve, afterMillis + LATE_SWEEP_MARGIN_MILLIS))
      .then(() => this.deleteRecords(folder, guard))
      .catch(() => {});
    this.lateSweeps.add(sweep);
    void sweep.then(() => this.lateSweeps.delete(sweep));
  }

  /** Waits for the later passes under way. */
  async settle(): Promise<void> {
    while (this.lateSweeps.size > 0) await Promise.all([...this.lateSweeps]);
  }
}
