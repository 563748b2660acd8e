/**
 * Power loss during store creation, metadata saves and store removal: the catalog runs over a
 * file system that loses what was not fsynced (see support/volatile-fs.ts). After the cut, and
 * possibly a second one while the catalog loads (and recovers) again: every acknowledged
 * creation is there with its metadata, no metadata goes back to an older version than one
 * acknowledged, a removed store stays removed, and no half-made store is listed.
 */
import { describe, expect, it } from 'vitest';

import { FolderCatalog } from '../../src/storage/fs/catalog.js';
import { emptyStats } from '../../src/storage/store-metadata.js';
import { LOCAL_USER, type StoreInfo } from '../../src/storage/types.js';
import { allowedValues, powerIsOff, summary, type Op } from './support/power-history.js';
import { seededRandom } from './support/records-over.js';
import { VolatileFs } from './support/volatile-fs.js';

const STORES = '/storage/key_value_stores';

/** A store's state as the oracle compares it: absent, or the op that wrote its metadata last. */
const stateOf = (info: StoreInfo | null) => (info ? `op${info.stats.writeCount}` : 'absent');
/** `allowedValues` compares values by `summary`; a store state is carried as a record-like value. */
const asValue = (state: string) => (state === 'absent' ? null : { body: Buffer.from(`${state} `), contentType: 'store' });

async function openCatalog(fs: VolatileFs): Promise<FolderCatalog> {
  const catalog = new FolderCatalog({
    storesDir: STORES,
    now: Date.now,
    readOnly: false,
    caseInsensitive: false,
    watch: false,
    rescanIntervalMillis: 0,
    warn: () => {},
    fs,
  });
  await catalog.load();
  return catalog;
}

function newInfo(id: string, name: string, opId: number): StoreInfo {
  const now = new Date();
  return {
    id,
    name,
    userId: LOCAL_USER.id,
    username: LOCAL_USER.username,
    createdAt: now,
    modifiedAt: now,
    accessedAt: now,
    generalAccess: 'FOLLOW_USER_SETTING',
    stats: { ...emptyStats(), writeCount: opId },
  };
}

async function trial(seed: number, chaos: boolean): Promise<number> {
  const random = seededRandom(seed);
  const fs = new VolatileFs(random);
  await fs.mkdirDurable(STORES);
  let clock = 0;
  const tick = () => ++clock;
  const history = new Map<string, Op[]>();
  const ids = new Map<string, string>();
  let nextOp = 1;
  let acked = 0;

  const act = async (catalog: FolderCatalog) => {
    const opId = nextOp++;
    const names = [...ids.keys()];
    const pick = random();
    const name = pick < 0.4 || names.length === 0 ? `store-${opId}` : names[Math.floor(random() * names.length)]!;
    const kind = !ids.has(name) ? 'create' : pick < 0.85 ? 'save' : 'remove';
    if (kind === 'create') {
      ids.set(name, `id${String(opId).padStart(15, '0')}`);
      history.set(name, [{ value: null, state: 'acked', kind: 'write', invoked: tick(), ended: tick() }]);
    }
    const id = ids.get(name)!;
    const op: Op = { value: asValue(kind === 'remove' ? 'absent' : `op${opId}`), state: 'pending', kind: 'write', invoked: tick() };
    history.get(name)!.push(op);
    try {
      if (kind === 'create') await catalog.create(newInfo(id, name, opId));
      else if (kind === 'save') {
        const current = await catalog.get(id);
        if (!current) throw Object.assign(new Error('gone'), { code: 'gone' });
        await catalog.save({ ...current, stats: { ...current.stats, writeCount: opId } });
      } else await catalog.remove(id);
      op.state = 'acked';
      acked++;
    } catch (error) {
      // A save or remove of a store another actor removed meanwhile changes nothing.
      const code = (error as { code?: string }).code;
      if (code === 'gone' || code === 'store-not-found') history.get(name)!.splice(history.get(name)!.indexOf(op), 1);
      else expect(powerIsOff(error), String(error)).toBe(true);
      op.state = 'failed';
    }
    op.ended = tick();
  };

  const catalog = await openCatalog(fs);
  for (let i = 0; i < 4; i++) await act(catalog);
  fs.cutPowerAfter(1 + Math.floor(random() * 120));
  await Promise.all(
    Array.from({ length: 3 }, async () => {
      for (let i = 0; i < 40 && fs.powered; i++) await act(catalog);
    }),
  );
  fs.cutPower();
  await catalog.close().catch(() => {});
  fs.reboot(chaos);

  // Half the time, the power goes again while the catalog loads and recovers.
  if (random() < 0.5) {
    fs.cutPowerAfter(1 + Math.floor(random() * 30));
    try {
      await (await openCatalog(fs)).close();
    } catch (error) {
      expect(powerIsOff(error), String(error)).toBe(true);
    }
    fs.cutPower();
    fs.reboot(chaos);
  }

  const after = await openCatalog(fs);
  for (const [name, ops] of history) {
    const info = await after.findByName(LOCAL_USER.id, name);
    expect(allowedValues(ops), `seed ${seed}, chaos ${chaos}, ${name}`).toContain(summary(asValue(stateOf(info))));
    if (info) expect(info.id).toBe(ids.get(name));
  }
  // Every store listed is one we made; no half-made or half-removed folder shows.
  for await (const info of after.list()) expect(history.has(info.name ?? ''), `seed ${seed}: ${info.name}`).toBe(true);
  expect((await fs.readdir(STORES)).map((entry) => entry.name).filter((name) => name.startsWith('.'))).toEqual([]);
  await after.close();
  return acked;
}

describe('power loss and stores', () => {
  it('keeps acknowledged store creations, metadata saves and removals, in order', async () => {
    let acked = 0;
    for (let seed = 1; seed <= 80; seed++) acked += await trial(seed, false);
    expect(acked).toBeGreaterThan(200);
  });
});
