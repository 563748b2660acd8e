/** `stores`, `create`, `rename`, `drop`. */
import type { Command } from 'commander';

import { assertValidStoreName } from '../../sdk/validation.js';
import { CliError, EXIT } from '../errors.js';
import { describeStore, out, storeJson } from '../output.js';
import { findStore, withTargetOptions, type TargetOptions } from '../target.js';
import { formatBytes, formatTable } from '../util.js';
import { withTarget } from './run.js';

export function addStoreCommands(program: Command): void {
  withTargetOptions(
    program
      .command('stores')
      .description('list stores (named ones unless --unnamed)')
      .option('--unnamed', 'include unnamed stores'),
  ).action((options: TargetOptions & { unnamed?: boolean }) =>
    withTarget(options, 'read', async (backend, output) => {
      const stores = await backend.listStores({ unnamed: options.unnamed });
      if (output.json) return output.printJson(stores.map(storeJson));
      if (stores.length === 0) return output.notice(`No stores in ${backend.location}.`);
      const rows = stores.map((s) => [s.id, s.name ?? '-', s.modifiedAt?.toISOString() ?? '-', formatBytes(s.storageBytes)]);
      out(formatTable(['ID', 'NAME', 'MODIFIED', 'SIZE'], rows));
    }),
  );

  withTargetOptions(
    program
      .command('create')
      .description('create a named store (an existing one is left as it is)')
      .argument('<name>', "store name: 1-63 of a-z, A-Z, 0-9 and '-'"),
  ).action((name: string, options: TargetOptions) =>
    withTarget(options, 'create', async (backend, output) => {
      assertValidStoreName(name);
      const { store, created } = await backend.getOrCreateStore(name);
      if (output.json) return output.printJson({ created, store: storeJson(store) });
      output.result(created ? `Created store ${describeStore(store)}.` : `Store ${describeStore(store)} already exists.`);
    }),
  );

  withTargetOptions(
    program
      .command('rename')
      .description('give a store a new name')
      .argument('<store>', 'store id or name')
      .argument('<name>', 'new name'),
  ).action((ref: string, name: string, options: TargetOptions) =>
    withTarget(options, 'update', async (backend, output) => {
      assertValidStoreName(name);
      const store = await findStore(backend, ref);
      const taken = await backend.getStore(name);
      if (taken && taken.id !== store.id) {
        throw new CliError(`The name ${JSON.stringify(name)} is taken by store ${describeStore(taken)}.`, EXIT.USAGE);
      }
      const renamed = await backend.renameStore(store.id, name);
      if (output.json) return output.printJson({ renamed: true, from: store.name, store: storeJson(renamed) });
      output.result(`Renamed store ${describeStore(store)} to ${JSON.stringify(renamed.name)}.`);
    }),
  );

  withTargetOptions(
    program.command('drop').description('delete a store and all its records').argument('<store>', 'store id or name'),
  ).action((ref: string, options: TargetOptions) =>
    withTarget(options, 'update', async (backend, output) => {
      const store = await findStore(backend, ref);
      await backend.deleteStore(store.id);
      if (output.json) return output.printJson({ dropped: true, store: storeJson(store) });
      output.result(`Dropped store ${describeStore(store)}.`);
    }),
  );
}
