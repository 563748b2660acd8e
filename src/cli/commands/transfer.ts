/** `push` and `pull`: sync a folder and a store. */
import type { Command } from 'commander';

import type { StorageBackend } from '../../sdk/backend.js';
import { assertValidStoreName, isValidKey } from '../../sdk/validation.js';
import { CliError, EXIT } from '../errors.js';
import { describeStore, type Output } from '../output.js';
import { createProgress } from '../progress.js';
import type { SyncOptions } from '../sync/common.js';
import { filtersOf, withFilterOptions, type Filter } from '../sync/filters.js';
import { pull } from '../sync/pull.js';
import { push } from '../sync/push.js';
import { summaryJson, summaryLine, type SyncSummary } from '../sync/summary.js';
import { findOrCreateStore, findStore, parseConcurrency, withTargetOptions, type TargetOptions } from '../target.js';
import { withTarget } from './run.js';

const SYNC_HELP = `
Files and keys: push stores each file of DIR (not subfolders: keys cannot contain "/") under
PREFIX + its file name, with the content type of its extension. pull writes each record under
PREFIX into DIR, named by its key without the prefix when the key's extension gives its content
type, else as KEY~.EXT (EXT from the content type), which push reads back as KEY.
Unchanged records and files (same size, content type and md5) are not transferred again.

Filters (--include/--exclude, picomatch globs, repeatable): everything is included unless a
filter says otherwise; the last matching filter decides. They match the file name on push and
the key without the prefix on pull.

Exit codes: 0 everything done, 1 a transfer or deletion failed, 2 files were skipped (or bad input).
A failed file does not stop the others; the summary (--json for JSON) lists them with reasons.`;

type SyncFlags = TargetOptions & {
  concurrency: number;
  dryRun?: boolean;
  delete?: boolean;
  prefix?: string;
  include?: Filter[];
  exclude?: Filter[];
};

function withSyncOptions(command: Command, verb: string): Command {
  return withFilterOptions(
    withTargetOptions(
      command
        .option('--concurrency <n>', `${verb}s at a time (1-64)`, parseConcurrency, 8)
        .option('--dry-run', 'print what would change, change nothing')
        .option('--delete', 'mirror: also delete what the source lacks (within --prefix and the filters)')
        .option('--prefix <prefix>', 'keys on the store side start with this (file names do not)'),
    ),
  ).addHelpText('after', SYNC_HELP);
}

function syncOptions(flags: SyncFlags, output: Output, verb: string): SyncOptions {
  const prefix = flags.prefix ?? '';
  if (prefix !== '' && !isValidKey(prefix)) {
    throw new CliError(`--prefix ${JSON.stringify(prefix)} is not the start of a valid key (a-z, A-Z, 0-9 and !-_.'()).`, EXIT.USAGE);
  }
  return {
    concurrency: flags.concurrency,
    dryRun: !!flags.dryRun,
    delete: !!flags.delete,
    prefix,
    filters: filtersOf(flags),
    output,
    progress: createProgress({ json: output.json, quiet: output.quiet, verb, hold: !!flags.dryRun }),
  };
}

function report(summary: SyncSummary, output: Output, what: string): void {
  if (output.json) output.printJson(summaryJson(summary));
  else output.result(`${summary.dryRun ? 'Dry run, nothing changed: ' : ''}${what}: ${summaryLine(summary)}.`);
  process.exitCode = summary.exitCode;
}

export function addTransferCommands(program: Command): void {
  withSyncOptions(
    program
      .command('push')
      .description('upload the files of a folder as records (creates a named store if missing)')
      .argument('<store>', 'store id or name')
      .argument('<dir>', 'folder to upload'),
    'upload',
  ).action((ref: string, dir: string, flags: SyncFlags) =>
    withTarget(flags, flags.dryRun ? 'read' : 'create', async (backend: StorageBackend, output) => {
      const options = syncOptions(flags, output, 'push');
      const store = options.dryRun ? await backend.getStore(ref) : await findOrCreateStore(backend, ref, output.notice);
      if (!store) {
        assertValidStoreName(ref);
        output.notice(`Store ${JSON.stringify(ref)} does not exist; push would create it.`);
      }
      const summary = await push(backend, store, dir, options);
      report(summary, output, `push ${dir} to ${store ? `store ${describeStore(store)}` : JSON.stringify(ref)}`);
    }),
  );

  withSyncOptions(
    program
      .command('pull')
      .description('download the records of a store into a folder')
      .argument('<store>', 'store id or name')
      .argument('<dir>', 'folder to write to (created if missing)'),
    'download',
  ).action((ref: string, dir: string, flags: SyncFlags) =>
    withTarget(flags, 'read', async (backend, output) => {
      const options = syncOptions(flags, output, 'pull');
      const store = await findStore(backend, ref);
      const summary = await pull(backend, store, dir, options);
      report(summary, output, `pull store ${describeStore(store)} to ${dir}`);
    }),
  );
}
