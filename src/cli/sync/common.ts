/** What push and pull share: their options and the store listing. */
import type { StorageBackend } from '../../sdk/backend.js';
import type { Output } from '../output.js';
import type { Progress } from '../progress.js';
import type { Filter } from './filters.js';

export interface SyncOptions {
  concurrency: number;
  /** Say what would change; change nothing. */
  dryRun: boolean;
  /** Mirror: remove what the source lacks (within the prefix and the filters). */
  delete: boolean;
  /** Keys on the store side start with this; file names do not. */
  prefix: string;
  filters: Filter[];
  progress: Progress;
  output: Output;
}

/** Every key (and size) of a store under a prefix, in order. */
export async function allKeys(backend: StorageBackend, storeId: string, prefix: string): Promise<Array<{ key: string; size: number }>> {
  const items: Array<{ key: string; size: number }> = [];
  let exclusiveStartKey: string | undefined;
  for (;;) {
    const page = await backend.listKeys(storeId, { exclusiveStartKey, prefix: prefix || undefined, limit: 1000 });
    items.push(...page.items);
    if (page.nextExclusiveStartKey === null || page.items.length === 0) return items;
    exclusiveStartKey = page.nextExclusiveStartKey;
  }
}
