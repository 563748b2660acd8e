/** `stores`, `create`, `rename`, `drop`. */
import type { Command } from 'commander';

import { assertValidStoreName } from '../../sdk/validation.js';
import { describeStore, notice, out, printJson, storeJson } from '../output.js';
import { findStore, withTargetOptions, type TargetOptions } from '../target.js';
import { formatBytes, formatTable } from '../util.js';
import { withTarget } from './run.js';

export function addStoreCommands(program: Command): void {
  withTargetOptions(
    program
      .command('stores')
      .description('list stores (named ones unless --unnamed)')
      .option('--unnamed', 'include unnamed stores')
      .option('--json', 'print JSON'),
  ).action((options: TargetOptions & { unnamed?: boolean; json?: boolean }) =>
    withTarget(options, async (backend) => {
      const stores = await backend.listStores({ unnamed: options.unnamed });
      if (options.json) return printJson(stores.map(storeJson));
      if (stores.length === 0) return notice(`No stores in ${backend.location}.`);
      const rows = stores.map((s) => [s.id, s.name ?? '-', s.modifiedAt?.toISOString() ?? '-', formatBytes(s.storageBytes)]);
      out(formatTable(['ID', 'NAME', 'MODIFIED', 'SIZE'], rows));
    }),
  );

  withTargetOptions(
    program
      .command('create')
      .description('create a named store (an existing one is left as it is)')
      .argument('<name>', "store name: 1-63 of a-z, A-Z, 0-9 and '-'")
      .option('--json', 'print JSON'),
  ).action((name: string, options: TargetOptions & { json?: boolean }) =>
    withTarget(options, async (backend) => {
      assertValidStoreName(name);
      const { store, created } = await backend.getOrCreateStore(name);
      if (options.json) return printJson({ created, store: storeJson(store) });
      out(created ? `Created store ${describeStore(store)}.` : `Store ${describeStore(store)} already exists.`);
    }),
  );

  withTargetOptions(
    program
      .command('rename')
      .description('give a store a new name')
      .argument('<store>', 'store id or name')
      .argument('<name>', 'new name'),
  ).action((ref: string, name: string, options: TargetOptions) =>
    withTarget(options, async (backend) => {
      assertValidStoreName(name);
      const store = await findStore(backend, ref);
      const renamed = await backend.renameStore(store.id, name);
      out(`Renamed store ${describeStore(store)} to ${JSON.stringify(renamed.name)}.`);
    }),
  );

  withTargetOptions(
    program.command('drop').description('delete a store and all its records').argument('<store>', 'store id or name'),
  ).action((ref: string, options: TargetOptions) =>
    withTarget(options, async (backend) => {
      const store = await findStore(backend, ref);
      await backend.deleteStore(store.id);
      out(`Dropped store ${describeStore(store)}.`);
    }),
  );
}
