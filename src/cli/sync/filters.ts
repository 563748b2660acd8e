/**
 * `--include` / `--exclude` as `aws s3 sync` reads them: everything is included unless a filter
 * says otherwise, and filters apply in the order given, the last match deciding. Globs are
 * picomatch globs (`*`, `?`, `[abc]`, `{a,b}`), matched against the whole name, dot files
 * included: the file name on push, the key without the `--prefix` on pull.
 */
import type { Command } from 'commander';
import picomatch from 'picomatch';

import { CliError, EXIT } from '../errors.js';

export interface Filter {
  type: 'include' | 'exclude';
  glob: string;
  matches: (name: string) => boolean;
}

/** Adds `--include` and `--exclude`; both collect into one ordered list, read with {@link filtersOf}. */
export function withFilterOptions(command: Command): Command {
  const filters: Filter[] = [];
  const collect = (type: Filter['type']) => (glob: string): Filter[] => {
    if (glob.trim() === '') throw new CliError(`--${type} needs a glob, not an empty string.`, EXIT.USAGE);
    filters.push({ type, glob, matches: picomatch(glob, { dot: true }) });
    return filters;
  };
  return command
    .option('--include <glob>', 'only names matching this glob, unless a later --exclude matches (repeatable)', collect('include'))
    .option('--exclude <glob>', 'leave out names matching this glob, unless a later --include matches (repeatable)', collect('exclude'));
}

export function filtersOf(options: { include?: Filter[]; exclude?: Filter[] }): Filter[] {
  return options.include ?? options.exclude ?? [];
}

/** Whether a name passes the filters. */
export function isIncluded(name: string, filters: readonly Filter[]): boolean {
  let included = true;
  for (const filter of filters) if (filter.matches(name)) included = filter.type === 'include';
  return included;
}
