/** What commands print: results on stdout, notices and errors on stderr. */
import type { StoreSummary } from '../sdk/backend.js';

export function out(text: string): void {
  process.stdout.write(`${text}\n`);
}

export function notice(text: string): void {
  process.stderr.write(`${text}\n`);
}

export function printJson(value: unknown): void {
  out(JSON.stringify(value, null, 2));
}

/** A store as `--json` prints it. */
export function storeJson(store: StoreSummary): Record<string, unknown> {
  return {
    id: store.id,
    name: store.name,
    createdAt: store.createdAt?.toISOString() ?? null,
    modifiedAt: store.modifiedAt?.toISOString() ?? null,
    accessedAt: store.accessedAt?.toISOString() ?? null,
    storageBytes: store.storageBytes,
  };
}

/** `"name" (id X)`, or `unnamed store X`. */
export function describeStore(store: StoreSummary): string {
  return store.name ? `${JSON.stringify(store.name)} (id ${store.id})` : `unnamed store ${store.id}`;
}
