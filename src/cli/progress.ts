import cliProgress from 'cli-progress';

/**
 * Reports items of a batch: a bar of bytes on a terminal, one line per item otherwise, nothing
 * for --json or --quiet. With `hold`, lines are kept and printed by `stop` after the given first
 * lines (a dry run lists its deletions first).
 */
export interface Progress {
  /** `items` to go through, `bytes` of them to transfer (or find unchanged). */
  start(items: number, bytes: number): void;
  /** Bytes of item `name` moved so far, as the client reports them. */
  moved(name: string, loaded: number): void;
  /** One item finished; `line` describes it; its `bytes` count as done. */
  item(line: string, name: string, bytes?: number): void;
  /** Item `name` failed: the bytes it moved no longer count. */
  dropped(name: string): void;
  /** Ends the batch; `first` lines are printed before any held ones. */
  stop(first?: string[]): void;
}

/** A byte count as a terminal shows it: 512 B, 1.5 KiB, 3.0 MiB. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

const NONE: Progress = { start() {}, moved() {}, item() {}, dropped() {}, stop() {} };

export function createProgress(
  mode: { json: boolean; quiet: boolean; verb: string; hold?: boolean },
  stream: NodeJS.WriteStream = process.stderr,
): Progress {
  if (mode.json || mode.quiet) return NONE;
  if (mode.hold) {
    const held: string[] = [];
    return {
      ...NONE,
      item: (line) => void held.push(line),
      stop: (first = []) => {
        const lines = [...first, ...held];
        if (lines.length > 0) process.stdout.write(`${lines.join('\n')}\n`);
      },
    };
  }
  if (stream.isTTY) return byteBar(mode.verb, stream);
  return { ...NONE, item: (line) => void process.stdout.write(`${line}\n`) };
}

/** The terminal's bar: bytes done of all, items done of all, the last item. */
function byteBar(verb: string, stream: NodeJS.WriteStream): Progress {
  const bar = new cliProgress.SingleBar(
    {
      format: `${verb} [{bar}] {percentage}% | {done}/{size} | {items}/{count} | {name}`,
      stream,
      hideCursor: true,
      clearOnComplete: true,
    },
    cliProgress.Presets.shades_classic,
  );
  /** Bytes moved so far by the items under way. */
  const underWay = new Map<string, number>();
  let finished = 0;
  let items = 0;
  let count = 0;
  let size = 0;
  let name = '';
  const show = () => {
    let done = finished;
    for (const loaded of underWay.values()) done += loaded;
    done = Math.min(done, size);
    bar.update(done, { done: formatBytes(done), size: formatBytes(size), items, count, name });
  };
  return {
    start(total, bytes) {
      count = total;
      size = bytes;
      // A bar of 0 bytes (empty files, deletions only) is measured in items instead.
      bar.start(Math.max(bytes, 1), 0, { done: formatBytes(0), size: formatBytes(size), items, count, name });
    },
    moved(item, loaded) {
      underWay.set(item, loaded);
      show();
    },
    item(_line, item, bytes = 0) {
      underWay.delete(item);
      finished += bytes;
      items++;
      name = item;
      show();
      if (size === 0 && items === count) bar.update(1);
    },
    dropped(item) {
      underWay.delete(item);
      show();
    },
    stop: () => bar.stop(),
  };
}
