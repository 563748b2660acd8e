/**
 * MD5 of large bodies in slices (Node's and the browser add-on's): the same digest as in one
 * call, whatever the size around slice boundaries; other work runs between slices; an abort stops
 * it; and small bodies keep the one synchronous call.
 */
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { uploadDigest } from '../../src/client/integrity.js';
import { platform as browserPlatform } from '../../src/client/platform/md5-only.js';
import { platform as nodePlatform } from '../../src/client/platform/node.js';

const nodeMd5 = (bytes: Uint8Array) => createHash('md5').update(bytes).digest('hex');

const sliced = (p: typeof browserPlatform) => p.md5HexSliced!;

/** The slice sizes of the two platforms, as their modules set them. */
const SLICES = [
  ['node', nodePlatform, 1024 * 1024],
  ['browser add-on', browserPlatform, 256 * 1024],
] as const;

describe.each(SLICES)('md5HexSliced (%s)', (_, platform, slice) => {
  it('equals the one-shot MD5 for sizes around slice boundaries, also for a view into a larger buffer', async () => {
    for (const length of [0, 1, 63, slice - 1, slice, slice + 1, slice + 64, 3 * slice + 4_097]) {
      const bytes = randomBytes(length);
      expect(await sliced(platform)(bytes), `length ${length}`).toBe(nodeMd5(bytes));
    }
    const whole = randomBytes(2 * slice + 100);
    const view = new Uint8Array(whole.buffer, whole.byteOffset + 7, 2 * slice + 13);
    expect(await sliced(platform)(view)).toBe(nodeMd5(view));
  });

  it('stops with the signal reason once aborted, also when aborted before it starts', async () => {
    const bytes = randomBytes(4 * slice);
    const before = AbortSignal.abort(new Error('gone before'));
    await expect(sliced(platform)(bytes, before)).rejects.toBe(before.reason);
    const controller = new AbortController();
    const reason = new Error('stop hashing');
    const hashing = sliced(platform)(bytes, controller.signal);
    // The first slice was hashed at once; the abort comes before the next one.
    controller.abort(reason);
    await expect(hashing).rejects.toBe(reason);
  });

  it('takes over from the one-shot MD5 at a size of whole slices', () => {
    expect(platform.md5SlicedFrom! % slice).toBe(0);
    expect(platform.md5SlicedFrom!).toBeGreaterThanOrEqual(slice);
  });
});

describe('Node: other work runs between slices', () => {
  it('a callback queued right after the hash starts runs before it ends; one runs per slice', async () => {
    const slice = 1024 * 1024;
    const bytes = randomBytes(6 * slice + 5);
    let turns = 0;
    let ticking = true;
    const tick = () => {
      turns++;
      if (ticking) setImmediate(tick);
    };
    const hashing = nodePlatform.md5HexSliced!(bytes);
    setImmediate(tick);
    let turnsWhenDone = -1;
    const md5 = await hashing.then((digest) => {
      turnsWhenDone = turns;
      return digest;
    });
    ticking = false;
    expect(md5).toBe(nodeMd5(bytes));
    // One slice per turn of the event loop: the ticker ran at least once after each of 5 slices.
    expect(turnsWhenDone).toBeGreaterThanOrEqual(5);
  });
});

describe('uploadDigest', () => {
  it('hashes a body below the threshold at once (no promise), one at it in slices, both to the same digest', async () => {
    const from = nodePlatform.md5SlicedFrom!;
    const small = randomBytes(from - 1);
    const digest = uploadDigest(small);
    expect(digest).not.toBeInstanceOf(Promise);
    expect(digest).toEqual({ md5: nodeMd5(small), headers: { 'Content-MD5': createHash('md5').update(small).digest('base64') } });

    const large = randomBytes(from);
    let ticked = false;
    const pending = uploadDigest(large);
    setImmediate(() => (ticked = true));
    // Against a hash in one call, the digest would be there before the callback could run.
    const tickedWhenDone = await Promise.resolve(pending).then(() => ticked);
    expect(tickedWhenDone).toBe(true);
    expect(await pending).toEqual({ md5: nodeMd5(large), headers: { 'Content-MD5': createHash('md5').update(large).digest('base64') } });
  });
});
