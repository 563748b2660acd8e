/**
 * What the browser's integrity add-on needs of the platform: an MD5, one-shot and in slices (its
 * build puts this module in place of `platform/node.ts`, which `integrity.ts` imports).
 */
import { md5Blocks, md5End, md5Hex, md5Start } from '../md5.js';
import { inSlices } from './hash-slices.js';
import type { Platform } from './types.js';

/**
 * From this size on a body's MD5 is taken in slices. The add-on's MD5 runs at some 45-65 MiB/s in
 * Chromium: one call on 1 MiB blocks the page about 20 ms, a frame or so at 60 Hz.
 */
const SLICED_FROM = 1 << 20;
/** About 5 ms of hashing per turn (a whole number of 64-byte MD5 blocks). */
const SLICE = 1 << 18;

async function md5HexSliced(bytes: Uint8Array, signal?: AbortSignal): Promise<string> {
  // A message to itself queues a task behind those already waiting (input, rendering, network
  // answers); setTimeout would be held to 4 ms a round after a few rounds.
  const { port1, port2 } = new MessageChannel();
  const state = md5Start();
  try {
    const nextTurn = () =>
      new Promise((resolve) => {
        port1.onmessage = resolve;
        port2.postMessage(0);
      });
    return md5End(state, bytes, await inSlices(bytes.length, SLICE, (start, end) => md5Blocks(state, bytes, start, end), nextTurn, signal));
  } finally {
    port1.close();
  }
}

export const platform: Pick<Platform, 'md5Hex' | 'md5HexSliced' | 'md5SlicedFrom'> = { md5Hex, md5HexSliced, md5SlicedFrom: SLICED_FROM };
