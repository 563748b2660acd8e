import cliProgress from 'cli-progress';

/** Reports items of a batch: a bar on a terminal, one line per item otherwise, nothing for --json. */
export interface Progress {
  start(total: number): void;
  /** One item finished; `line` describes it. */
  item(line: string, name: string): void;
  stop(): void;
}

export function createProgress(mode: { json: boolean; verb: string }): Progress {
  if (mode.json) return { start() {}, item() {}, stop() {} };
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
