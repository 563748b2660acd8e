import cliProgress from 'cli-progress';

/**
 * Reports items of a batch: a bar on a terminal, one line per item otherwise, nothing for
 * --json or --quiet. With `hold`, lines are kept and printed by `stop` after the given first
 * lines (a dry run lists its deletions first).
 */
export interface Progress {
  start(total: number): void;
  /** One item finished; `line` describes it. */
  item(line: string, name: string): void;
  /** Ends the batch; `first` lines are printed before any held ones. */
  stop(first?: string[]): void;
}

export function createProgress(mode: { json: boolean; quiet: boolean; verb: string; hold?: boolean }): Progress {
  if (mode.json || mode.quiet) return { start() {}, item() {}, stop() {} };
  if (mode.hold) {
    const held: string[] = [];
    return {
      start() {},
      item: (line) => void held.push(line),
      stop: (first = []) => {
        const lines = [...first, ...held];
        if (lines.length > 0) process.stdout.write(`${lines.join('\n')}\n`);
      },
    };
  }
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        format: `${mode.verb} [{bar}] {percentage}% | {value}/{total} | {name}`,
        stream: process.stderr,
        hideCursor: true,
        clearOnComplete: true,
      },
      cliProgress.Presets.shades_classic,
    );
    return {
      start: (total) => bar.start(total, 0, { name: '' }),
      item: (_line, name) => bar.increment(1, { name }),
      stop: () => bar.stop(),
    };
  }
  return {
    start() {},
    item: (line) => process.stdout.write(`${line}\n`),
    stop() {},
  };
}
