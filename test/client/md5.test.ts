/** The browser's own MD5 against node:crypto's, over random inputs of every length 0..200 and a few large ones. */
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { md5Blocks, md5End, md5Hex, md5Start } from '../../src/client/md5.js';

const nodeMd5 = (bytes: Uint8Array) => createHash('md5').update(bytes).digest('hex');

describe('md5Hex', () => {
  it('matches node:crypto for random inputs of 0..200 bytes (every padding case)', () => {
    for (let length = 0; length <= 200; length++) {
      for (let round = 0; round < 3; round++) {
        const bytes = randomBytes(length);
        expect(md5Hex(bytes), `length ${length}`).toBe(nodeMd5(bytes));
      }
    }
  });

  it('matches node:crypto for large inputs and for a view into a larger buffer', () => {
    for (const length of [4_095, 65_536, 1_000_003, 5 * 1024 * 1024]) {
      const bytes = randomBytes(length);
      expect(md5Hex(bytes), `length ${length}`).toBe(nodeMd5(bytes));
    }
    const whole = randomBytes(1000);
    const view = new Uint8Array(whole.buffer, whole.byteOffset + 3, 517);
    expect(md5Hex(view)).toBe(nodeMd5(view));
  });

  it('gives the RFC 1321 test-suite digests', () => {
    const text = (s: string) => new TextEncoder().encode(s);
    expect(md5Hex(text(''))).toBe('d41d8cd98f00b204e9800998ecf8427e');
    expect(md5Hex(text('abc'))).toBe('900150983cd24fb0d6963f7d28e17f72');
    expect(md5Hex(text('12345678901234567890123456789012345678901234567890123456789012345678901234567890'))).toBe('57edf4a22be3c955ac49da2e2107b67a');
  });
});

describe('md5Blocks and md5End (the steps a sliced hash takes)', () => {
  it('give the one-shot digest however a body is cut into whole blocks', () => {
    for (const length of [0, 63, 64, 65, 127, 128, 1_000, 4_159]) {
      const bytes = randomBytes(length);
      const blocks = Math.floor(length / 64);
      for (const cut of new Set([0, Math.min(1, blocks), Math.floor(blocks / 2), blocks])) {
        const state = md5Start();
        md5Blocks(state, bytes, 0, cut * 64);
        expect(md5End(state, bytes, cut * 64), `length ${length}, cut after ${cut} blocks`).toBe(nodeMd5(bytes));
      }
    }
  });
});
