/** `push` and `pull`. */
import type { Command } from 'commander';

import { describeStore, notice, out, printJson } from '../output.js';
import { createProgress } from '../progress.js';
import { findOrCreateStore, findStore, parseConcurrency, withTargetOptions, type TargetOptions } from '../target.js';
import { pull, push } from '../transfer.js';
import { withTarget } from './run.js';

const NAMING_HELP = `
Files and keys: push stores each file of DIR (not subfolders) under its file name, with the
content type of its extension. pull writes each record under its key when the key's extension
gives its content type, else as KEY~.EXT (EXT from the content type), which push reads back as
KEY. So a folder pushed and pulled comes back byte for byte, with the same content types.
Unchanged records (same size, content type and md5) are not uploaded again.`;

type TransferFlags = TargetOptions & { concurrency: number; json?: boolean };

export function addTransferCommands(program: Command): void {
  withTargetOptions(
    program
      .command('push')
      .description('upload every file of a folder as a record (creates a named store if missing)')
      .argument('<store>', 'store id or name')
      .argument('<dir>', 'folder to upload')
      .option('--concurrency <n>', 'uploads at a time (1-64)', parseConcurrency, 8)
      .option('--json', 'print a JSON summary')
      .addHelpText('after', NAMING_HELP),
  ).action((ref: string, dir: string, options: TransferFlags) =>
    withTarget(options, async (backend) => {
      const store = await findOrCreateStore(backend, ref, notice);
      const summary = await push(backend, store, dir, {
        concurrency: options.concurrency,
        progress: createProgress({ json: !!options.json, verb: 'push' }),
        warn: notice,
      });
      if (options.json) return printJson(summary);
      out(
        `Pushed ${dir} to store ${describeStore(store)}: ${summary.uploaded.length} uploaded, ` +
          `${summary.unchanged.length} unchanged, ${summary.skipped.length} skipped.`,
      );
    }),
  );

  withTargetOptions(
    program
      .command('pull')
      .description('download every record of a store into a folder')
      .argument('<store>', 'store id or name')
      .argument('<dir>', 'folder to write to (created if missing)')
      .option('--concurrency <n>', 'downloads at a time (1-64)', parseConcurrency, 8)
      .option('--json', 'print a JSON summary')
      .addHelpText('after', NAMING_HELP),
  ).action((ref: string, dir: string, options: TransferFlags) =>
    withTarget(options, async (backend) => {
      const store = await findStore(backend, ref);
      const summary = await pull(backend, store, dir, {
        concurrency: options.concurrency,
        progress: createProgress({ json: !!options.json, verb: 'pull' }),
        warn: notice,
      });
      if (options.json) return printJson(summary);
      out(`Pulled store ${describeStore(store)} to ${dir}: ${summary.written.length} written, ${summary.unchanged.length} unchanged.`);
    }),
  );
}
