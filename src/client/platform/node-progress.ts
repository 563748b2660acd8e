/** The lean adapter's progress counts: a body written in pieces, an answer counted as it passes. */
import type http from 'node:http';
import { Transform } from 'node:stream';
import type { ProgressReporter } from '../http/progress.js';

/** Piece size of a watched upload: each piece is counted once the socket has taken it. */
const UPLOAD_PIECE = 64 * 1024;

/** Writes a body in pieces as the socket drains, counting each piece the socket took. */
export function writeCounted(request: http.ClientRequest, bytes: Uint8Array, upload: ProgressReporter): void {
  let offset = 0;
  const next = (): void => {
    while (offset < bytes.length) {
      const end = Math.min(offset + UPLOAD_PIECE, bytes.length);
      const more = request.write(bytes.subarray(offset, end), (error) => {
        if (!error) upload.report(end);
      });
      offset = end;
      if (!more) {
        request.once('drain', next);
        return;
      }
    }
    request.end();
  };
  next();
}

/** A pass-through that counts what goes through it. */
export function counter(download: ProgressReporter, total: number | undefined): Transform {
  let received = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      received += chunk.length;
      download.report(received, total);
      done(null, chunk);
    },
  });
}
