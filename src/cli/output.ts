/**
 * What commands print: results on stdout, notices and errors on stderr. `--json` prints one JSON
 * document on stdout instead of text; `--quiet` drops notices and progress (errors, skipped and
 * failed files still go to stderr).
 */
import type { StoreSummary } from '../sdk/backend.js';

export interface OutputFlags {
  json?: boolean;
  quiet?: boolean;
}

export interface Output {
  readonly json: boolean;
  readonly quiet: boolean;
  /** A text result line (not with --json or --quiet). */
  result(text: string): void;
  /** A notice on stderr (not with --quiet). */
  notice(text: string): void;
  /** A problem on stderr, always printed. */
  problem(text: string): void;
  /** Prints the command's JSON document. */
  printJson(value: unknown): void;
}

export function out(text: string): void {
  process.stdout.write(`${text}\n`);
}

export function createOutput(flags: OutputFlags): Output {
  const json = !!flags.json;
  const quiet = !!flags.quiet;
  return {
    json,
    quiet,
    result: (text) => {
      if (!json && !quiet) out(text);
    },
    notice: (text) => {
      if (!quiet) process.stderr.write(`${text}\n`);
    },
    problem: (text) => process.stderr.write(`${text}\n`),
    printJson: (value) => out(JSON.stringify(value, null, 2)),
  };
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
