/**
 * MD5 (RFC 1321) for the browser's integrity add-on: WebCrypto has none, and Node's is not
 * there. Small rather than fast; a record body is hashed once per transfer. It goes in steps
 * (`md5Blocks`, then `md5End`) so that a large body can be hashed a slice at a time.
 */

/** Left-rotation amounts, four per round. */
const SHIFTS = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];
/** The per-step constants: the integer part of |sin(i + 1)| * 2^32, as the RFC defines them. */
const SINES = Array.from({ length: 64 }, (_, i) => Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32) | 0);

/** The four words of an MD5 under way, as `md5Start` sets them up. */
export type Md5State = number[];

/** The state of a new MD5 (RFC 1321's initial words). */
export const md5Start = (): Md5State => [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];

/** One 64-byte block's little-endian words, reused from block to block. */
const words = new Int32Array(16);

/** Hashes `bytes` from `start` to `end` into `state`; `end - start` is a multiple of 64. */
export function md5Blocks(state: Md5State, bytes: Uint8Array, start: number, end: number): void {
  for (let block = start; block < end; block += 64) {
    for (let i = 0; i < 16; i++) {
      const at = block + i * 4;
      words[i] = bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24);
    }
    let [a, b, c, d] = state as [number, number, number, number];
    for (let i = 0; i < 64; i++) {
      const round = i >> 4;
      let mixed: number;
      let word: number;
      if (round === 0) {
        mixed = (b & c) | (~b & d);
        word = i;
      } else if (round === 1) {
        mixed = (d & b) | (~d & c);
        word = 5 * i + 1;
      } else if (round === 2) {
        mixed = b ^ c ^ d;
        word = 3 * i + 5;
      } else {
        mixed = c ^ (b | ~d);
        word = 7 * i;
      }
      const sum = (a + mixed + SINES[i]! + words[word & 15]!) | 0;
      const shift = SHIFTS[round * 4 + (i & 3)]!;
      a = d;
      d = c;
      c = b;
      b = (b + ((sum << shift) | (sum >>> (32 - shift)))) | 0;
    }
    state[0] = (state[0]! + a) | 0;
    state[1] = (state[1]! + b) | 0;
    state[2] = (state[2]! + c) | 0;
    state[3] = (state[3]! + d) | 0;
  }
}

/**
 * Hashes the rest of `bytes` from `start` (blocks before it are in `state`), then the padding: a
 * 0x80 byte, zeros and the 64-bit bit length. The MD5 as 32 lower-case hex digits.
 */
export function md5End(state: Md5State, bytes: Uint8Array, start: number): string {
  const length = bytes.length;
  const tail = length - ((length - start) % 64);
  md5Blocks(state, bytes, start, tail);
  const last = new Uint8Array(length - tail < 56 ? 64 : 128);
  last.set(bytes.subarray(tail));
  last[length - tail] = 0x80;
  // Each byte of the bit length (a Uint8Array keeps the low 8 bits of what it is given).
  for (let i = 0; i < 8; i++) last[last.length - 8 + i] = (length * 8) / 256 ** i;
  md5Blocks(state, last, 0, last.length);
  let hex = '';
  for (const word of state) {
    for (let byte = 0; byte < 4; byte++) hex += ((word >>> (byte * 8)) & 255).toString(16).padStart(2, '0');
  }
  return hex;
}

/** The MD5 of `bytes` as 32 lower-case hex digits. */
export const md5Hex = (bytes: Uint8Array): string => md5End(md5Start(), bytes, 0);
