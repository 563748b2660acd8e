// Kept apart from helpers.ts, which loads nock: the lean adapter's tests use real sockets.

/** The error a call rejects with; fails the test if the call succeeds. */
export async function caught(promise: Promise<unknown>): Promise<any> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail');
}
