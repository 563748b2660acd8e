/**
 * How many connections the server takes: a cap derived from the process's descriptor limit
 * (a connection past it would leave no descriptor for the files it needs, and requests would
 * hang on EMFILE), a cap per client address, and dropping a connection outright, not
 * half-closing it, when its client is cut off.
 */
import type http from 'node:http';
import type net from 'node:net';

import { openFilesLimit } from '../storage/descriptor-limit.js';

export { openFilesLimit };

/** Connections served at once when the descriptor limit allows it. */
export const DEFAULT_MAX_CONNECTIONS = 1000;
/** Connections one client address may hold at once. */
export const DEFAULT_MAX_CONNECTIONS_PER_ADDRESS = 256;

/**
 * Descriptors kept back from connections: the process's own (stdio, event loop, watchers,
 * the listening socket) plus a share for store folders.
 */
const RESERVED_DESCRIPTORS = 32;
/** Descriptors one connection may need: its socket and a file it reads or writes. */
const DESCRIPTORS_PER_CONNECTION = 2;

/**
 * The most connections a process with `fdLimit` descriptors can serve while every request
 * still gets the descriptors it needs: the limit less a reserve (32 plus an eighth), two per
 * connection. At least 1. Unknown limit: the default.
 */
export function connectionCapFor(fdLimit: number | undefined): number {
  if (fdLimit === undefined) return DEFAULT_MAX_CONNECTIONS;
  const reserve = RESERVED_DESCRIPTORS + Math.floor(fdLimit / 8);
  return Math.max(1, Math.min(DEFAULT_MAX_CONNECTIONS, Math.floor((fdLimit - reserve) / DESCRIPTORS_PER_CONNECTION)));
}

/**
 * The server's connection cap: the asked one (or the default) but never above what the
 * descriptor limit allows; `note` says why when it was lowered.
 */
export function resolveConnectionCap(asked: number | undefined, fdLimit = openFilesLimit()): { cap: number; note?: string } {
  const allowed = connectionCapFor(fdLimit);
  const wanted = asked ?? DEFAULT_MAX_CONNECTIONS;
  if (wanted <= allowed) return { cap: wanted };
  const note =
    `Serving at most ${allowed} connections at once (not ${wanted}): the limit of ${fdLimit} open files leaves ` +
    'descriptors for no more. Raise it (ulimit -n) to serve more.';
  // Lowering the default is expected; lowering an explicit choice is worth a warning.
  return { cap: allowed, note: asked === undefined ? undefined : note };
}

/**
 * Counts connections per client address and closes one over `maxPerAddress` as it arrives
 * (before any byte of it is parsed), as Node closes those over `maxConnections`.
 * `0` turns the limit off.
 */
export function limitConnectionsPerAddress(server: http.Server, maxPerAddress: number): void {
  if (maxPerAddress <= 0) return;
  const counts = new Map<string, number>();
  // Runs before the HTTP layer's own listener: a refused socket never reaches the parser.
  server.prependListener('connection', (socket: net.Socket) => {
    const address = socket.remoteAddress ?? '';
    const count = counts.get(address) ?? 0;
    if (count >= maxPerAddress) {
      socket.destroy();
      return;
    }
    counts.set(address, count + 1);
    socket.once('close', () => {
      const left = (counts.get(address) ?? 1) - 1;
      if (left <= 0) counts.delete(address);
      else counts.set(address, left);
    });
  });
}

/** How long an answer to a cut-off client may take to flush before its socket is destroyed anyway. */
const LAST_WORDS_MILLIS = 1000;

/**
 * Sends a last answer and then destroys the socket: a half-closed one (`end()` alone) stays
 * open, holding its descriptor, for as long as the client keeps sending.
 */
export function answerAndDrop(socket: net.Socket, answer: string): void {
  const timer = setTimeout(() => socket.destroy(), LAST_WORDS_MILLIS);
  socket.once('close', () => clearTimeout(timer));
  socket.end(answer, () => socket.destroy());
}
