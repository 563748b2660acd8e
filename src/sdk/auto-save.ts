/**
 * `getAutoSavedValue`: an object the program mutates freely, saved to its store on an interval,
 * when the program runs out of work, and on SIGINT / SIGTERM, and restored on the next open.
 */
import type { KeyValueStore } from './key-value-store.js';

interface Entry {
  store: KeyValueStore;
  key: string;
  value: object;
  /** JSON of what the store holds now, to skip saving an unchanged value. */
  saved: string | undefined;
  timer: NodeJS.Timeout;
}

const DEFAULT_INTERVAL_MILLIS = 60_000;
const entries = new Map<string, Promise<Entry>>();
let saving: Promise<void> = Promise.resolve();
let hooked = false;

function intervalFromEnv(): number {
  const fromEnv = Number(process.env.APIFY_PERSIST_STATE_INTERVAL_MILLIS || process.env.CRAWLEE_PERSIST_STATE_INTERVAL_MILLIS);
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : DEFAULT_INTERVAL_MILLIS;
}

async function saveEntry(entry: Entry): Promise<void> {
  const json = JSON.stringify(entry.value);
  if (json === entry.saved) return;
  await entry.store.setValue(entry.key, entry.value);
  entry.saved = json;
}

/**
 * Saves every auto-saved value that changed, one save at a time. With `forget`, stops tracking
 * them too (their stores are about to close).
 */
export function saveAutoSavedValues(options: { forget?: boolean } = {}): Promise<void> {
  const pending = [...entries.values()];
  if (options.forget) entries.clear();
  saving = saving
    .catch(() => {})
    .then(async () => {
      const failures: unknown[] = [];
      for (const entry of await Promise.all(pending)) {
        if (options.forget) clearInterval(entry.timer);
        await saveEntry(entry).catch((error: unknown) => failures.push(error));
      }
      if (failures.length > 0) throw failures[0];
    });
  return saving;
}

function onSignal(signal: NodeJS.Signals): void {
  void saveAutoSavedValues()
    .catch((error: unknown) => process.stderr.write(`Could not save the auto-saved values: ${(error as Error).message}\n`))
    .finally(() => {
      process.removeListener(signal, onSignal);
      // Our listener kept the process alive; with no other listener, end it as the signal would have.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
}

function hookProcess(): void {
  if (hooked) return;
  hooked = true;
  process.on('beforeExit', () => {
    if (entries.size > 0) void saveAutoSavedValues().catch(() => {});
  });
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
}

/** @internal The auto-saved object for a key of a store: the same object on every call. */
export async function autoSavedValue<T extends object>(store: KeyValueStore, key: string, defaultValue: T, intervalMillis?: number): Promise<T> {
  const id = `${store.backendKind}:${store.id}\n${key}`;
  let entry = entries.get(id);
  if (!entry) {
    entry = (async () => {
      const stored = await store.getValue<T>(key);
      const value = stored ?? defaultValue;
      const timer = setInterval(() => void saveAutoSavedValues().catch(() => {}), intervalMillis ?? intervalFromEnv());
      timer.unref(); // saving never keeps a finished program alive
      return { store, key, value, saved: stored === null ? undefined : JSON.stringify(stored), timer };
    })();
    entries.set(id, entry);
    entry.catch(() => entries.delete(id));
    hookProcess();
  }
  return (await entry).value as T;
}
