/** The request logger: pino, writing JSON lines or readable ones (see request-log.ts for what a line holds). */
import type { DestinationStream, Logger } from 'pino';
import type { RequestLogOptions } from './request-log.js';

/** pino is loaded now, not when the server module is. */
export async function createRequestLogger(options: RequestLogOptions = {}): Promise<Logger> {
  const { pino } = await import('pino');
  const destination = options.destination ?? process.stdout;
  return pino(
    {
      level: options.level ?? 'info',
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    (options.format === 'json' ? destination : prettyLines(destination)) as DestinationStream,
  );
}

/** A destination that turns pino's JSON lines into readable ones. */
function prettyLines(out: { write(line: string): unknown }): { write(line: string): void } {
  return {
    write(line: string) {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        out.write(line);
        return;
      }
      const { time, level, msg, ...fields } = entry;
      const head = `${String(time)} ${String(level).toUpperCase().padEnd(5)}`;
      if (msg === 'request') {
        const f = fields as { reqId?: string; method: string; route: string; status: number; durationMs: number; bytesIn: number; bytesOut: number; aborted?: boolean };
        out.write(
          `${head} ${f.method} ${f.route} ${f.status} ${f.durationMs} ms in=${f.bytesIn} B out=${f.bytesOut} B` +
            `${f.aborted ? ' aborted' : ''} id=${f.reqId ?? '-'}\n`,
        );
        return;
      }
      const rest = Object.entries(fields).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
      out.write(`${head} ${String(msg ?? '')}${rest.length ? ` ${rest.join(' ')}` : ''}\n`);
    },
  };
}
