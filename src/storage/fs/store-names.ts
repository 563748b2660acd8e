/**
 * Which store a name refers to, per owner: by `(user id, name)` and by `(username, name)`.
 * Folders copied or made by hand may claim one name twice; both stores are kept and the name
 * refers to one of them, chosen the same way each time (the folder named after the store
 * first, then by folder name).
 */
import type { Store } from './store.js';

export class StoreNames {
  /** Stores claiming each name, by `user id \n name` and `username \n name`; the first one answers. */
  private readonly byUserName = new Map<string, Store[]>();
  private readonly byUsername = new Map<string, Store[]>();

  /** `warn` is told when a name is claimed twice. */
  constructor(private readonly warn: (claimants: Store[], name: string) => void) {}

  /** The store `name` refers to among the user's (by id). */
  ofUser(userId: string, name: string): Store | undefined {
    return this.byUserName.get(`${userId}\n${name}`)?.[0];
  }

  /** The store `name` refers to among the user's (by username). */
  ofUsername(username: string, name: string): Store | undefined {
    return this.byUsername.get(`${username}\n${name}`)?.[0];
  }

  /** Adds the store under its name as its info gives it now (unnamed stores claim nothing). */
  claim(store: Store): void {
    const { name, userId, username } = store.info;
    if (name === null) return;
    const rank = (s: Store) => (s.folder === name ? '' : `~${s.folder}`);
    const byRank = (a: Store, b: Store) => (rank(a) < rank(b) ? -1 : rank(a) > rank(b) ? 1 : 0);
    const claimants = claimantsOf(this.byUserName, `${userId}\n${name}`);
    claimants.push(store);
    claimants.sort(byRank);
    const byUsername = claimantsOf(this.byUsername, `${username}\n${name}`);
    byUsername.push(store);
    byUsername.sort(byRank);
    if (claimants.length > 1) this.warn(claimants, name);
  }

  /** Removes the store from under its name as its info gives it now (call before the info changes). */
  unclaim(store: Store): void {
    const { name, userId, username } = store.info;
    if (name === null) return;
    for (const [map, key] of [
      [this.byUserName, `${userId}\n${name}`],
      [this.byUsername, `${username}\n${name}`],
    ] as const) {
      const list = map.get(key);
      if (!list) continue;
      const at = list.indexOf(store);
      if (at >= 0) list.splice(at, 1);
      if (list.length === 0) map.delete(key);
    }
  }

  clear(): void {
    this.byUserName.clear();
    this.byUsername.clear();
  }
}

function claimantsOf(map: Map<string, Store[]>, key: string): Store[] {
  let list = map.get(key);
  if (!list) map.set(key, (list = []));
  return list;
}
