/**
 * Process-level safety for commands: a reader that closes the pipe early (`apify-kv keys S |
 * head`) ends the command quietly with exit 0, and SIGINT / SIGTERM remove this run's partial
 * downloads before exiting with 130 / 143.
 */
import { removeLivePartialsSync } from './partial.js';

let pipeGuarded = false;
let signalsGuarded = false;

function exitNow(code: number): never {
  removeLivePartialsSync();
  process.exit(code);
}

/** A closed stdout or stderr ends the command quietly with exit 0 (every command, help too). */
export function installPipeGuard(): void {
  if (pipeGuarded) return;
  pipeGuarded = true;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      // The reader is gone: what it wanted was delivered, and nobody hears any more output.
      if (error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED') exitNow(0);
      throw error;
    });
  }
}

/** SIGINT / SIGTERM remove this run's partial files, then exit 130 / 143 (not for `serve`, which stops gracefully). */
export function installSignalGuards(): void {
  if (signalsGuarded) return;
  signalsGuarded = true;
  process.once('SIGINT', () => exitNow(130));
  process.once('SIGTERM', () => exitNow(143));
}

/** True for the error a write to a closed pipe fails with. */
export function isClosedPipe(error: unknown): boolean {
  return (error as NodeJS.ErrnoException)?.code === 'EPIPE';
}
