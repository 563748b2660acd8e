#!/usr/bin/env node
/**
 * `apify-kv`: key-value stores from the command line, on local storage (default) or an API.
 * Exit codes are listed in errors.ts.
 */
import { readFileSync } from 'node:fs';

import { Command, CommanderError } from 'commander';

import { runServeCommand } from '../server/index.js';
import { addRecordCommands } from './commands/records.js';
import { secrets } from './commands/run.js';
import { addStoreCommands } from './commands/stores.js';
import { addTransferCommands } from './commands/transfer.js';
import { describeError, EXIT, redactSecrets } from './errors.js';
import { installPipeGuard } from './guard.js';

const TARGET_HELP = `
Target: local storage by default (--storage-dir, else $APIFY_LOCAL_STORAGE_DIR,
$CRAWLEE_STORAGE_DIR or ./storage; no server needed). With --api-url or $APIFY_API_BASE_URL,
an Apify-compatible API, authenticated by $APIFY_TOKEN (or --token).

Exit codes: 0 ok, 1 failure, 2 bad input or usage, 3 store or record not found,
4 authentication or permission failure, 5 network failure after retries. push and pull:
1 when a transfer failed, 2 when files were skipped, 0 only when everything was done.`;

/** The package version, read from the package.json next to dist/ (the CLI only runs built). */
function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

function buildProgram(): Command {
  const program = new Command('apify-kv')
    .description('Apify key-value stores from the command line: local storage or an API.')
    .version(packageVersion(), '-V, --version', 'print the version')
    .exitOverride()
    // Usage errors as one line, like every other error.
    .configureOutput({
      outputError: (text, write) => write(`apify-kv: ${text.replace(/^error: /, '').trim()} (see --help)\n`),
    })
    .addHelpText('after', TARGET_HELP);

  addStoreCommands(program);
  addRecordCommands(program);
  addTransferCommands(program);

  program
    .command('serve')
    .description('start the local API server (run "apify-kv serve --help" for its options)')
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .argument('[options...]')
    .action(async (args: string[]) => {
      const result = await runServeCommand(args);
      // A number is an exit code (help, bad flags); otherwise the server runs until a signal.
      if (typeof result === 'number') process.exitCode = result;
    });
  return program;
}

async function main(argv: string[]): Promise<void> {
  installPipeGuard();
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit 0; commander already printed its message for the rest.
      process.exitCode = error.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
      return;
    }
    const env = process.env;
    const { message, exitCode } = describeError(error);
    process.stderr.write(`apify-kv: ${redactSecrets(message, [...secrets, env.APIFY_TOKEN])}\n`);
    process.exitCode = exitCode;
  }
}

await main(process.argv);
