/**
 * MD5 (RFC 1321) for the browser's integrity add-on: WebCrypto has none, and Node's is not
 * there. Small rather than fast; a record body is hashed once per transfer.
 */

/** Left-rotation amounts, four per round. */
const SHIFTS = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];
/** The per-step constants: the integer part of |sin(i + 1)| * 2^32, as the RFC defines them. */
const SINES = Array.from({ length: 64 }, (_, i) => Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32) | 0);

/** The MD5 of `bytes` as 32 lower-case hex digits. */
export function md5Hex(bytes: Uint8Array): string {
  const length = bytes.length;
  // The message, a 0x80 byte, zero padding and the 64-bit bit length, in 64-byte blocks of little-endian words.
  const words = new Uint32Array((((length + 8) >>> 6) + 1) * 16);
  for (let i = 0; i < length; i++) words[i >> 2]! |= bytes[i]! << ((i & 3) * 8);
  words[length >> 2]! |= 0x80 << ((length & 3) * 8);
  words[words.length - 2] = length * 8;
  words[words.length - 1] = Math.floor(length / 2 ** 29);

  const state = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];
  for (let block = 0; block < words.length; block += 16) {
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
      const sum = (a + mixed + SINES[i]! + words[block + (word & 15)]!) | 0;
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
  let hex = '';
  for (const word of state) {
    for (let byte = 0; byte < 4; byte++) hex += ((word >>> (byte * 8)) & 255).toString(16).padStart(2, '0');
  }
  return hex;
}
