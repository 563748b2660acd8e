/** Shared set-up of the client tests: nock at the transport boundary, a virtual clock. */
import nock from 'nock';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { ApifyClient, type ApifyClientOptions } from '../../src/index.js';
import { nodeAdapter } from '../../src/client/platform/node-adapter.js';

export const API = 'https://api.apify.com';
export const TOKEN = 'secret-token-1234567890';
/** axios's own `http` and `fetch` adapters, and `node`: the client's lean adapter, its default in Node. */
export const ADAPTERS = ['http', 'fetch', 'node'] as const;
export type AdapterName = (typeof ADAPTERS)[number];

/** Blocks real network access and checks that every mock was used, for the calling file. */
export function useNock(): void {
  beforeAll(() => {
    nock.disableNetConnect();
    nock.enableNetConnect('127.0.0.1');
  });
  afterEach(() => {
    const pending = nock.pendingMocks();
    nock.cleanAll();
    expect(pending, 'pending mocks').toEqual([]);
  });
  afterAll(() => {
    nock.enableNetConnect();
  });
}

/** A clock whose sleeps return at once and move virtual time forward; it records every wait. */
export class VirtualClock {
  time = 1_700_000_000_000;
  readonly sleeps: number[] = [];
  now = (): number => this.time;
  sleep = async (ms: number, signal?: AbortSignal): Promise<void> => {
    if (signal?.aborted) throw signal.reason;
    this.sleeps.push(ms);
    this.time += ms;
  };
}

/** A client for tests: given adapter, virtual clock, token set. */
export function makeClient(
  adapter: AdapterName,
  options: ApifyClientOptions = {},
  clock = new VirtualClock(),
): { client: ApifyClient; clock: VirtualClock } {
  const client = new ApifyClient({ token: TOKEN, adapter: adapter === 'node' ? nodeAdapter : adapter, clock, ...options });
  return { client, clock };
}

/** Captures what a nock interceptor received. */
export interface Captured {
  method?: string;
  path?: string;
  headers: Record<string, string | string[] | undefined>;
  body?: unknown;
}

/** A reply function that records the request and answers with the given status, body, headers. */
export function capture(
  into: Captured,
  status: number,
  body: unknown = '',
  headers: Record<string, string> = {},
) {
  return function (this: nock.ReplyFnContext, path: string, requestBody: nock.Body): nock.ReplyFnResult {
    into.method = this.req.method;
    into.path = path;
    into.headers = { ...this.req.headers };
    into.body = requestBody;
    return [status, body as nock.ReplyBody, headers];
  };
}

/** JSON error body of the API. */
export function apiError(type: string, message: string): { error: { type: string; message: string } } {
  return { error: { type, message } };
}

/** An `Error` with a `code`, as Node's sockets raise it (nock needs a real Error object). */
export function socketError(code: string, message = code): Error {
  return Object.assign(new Error(message), { code });
}

export const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8' };

/** A store object as the API returns it. */
export function storeJson(id = 'WkzbQMuFYuamGv3YF', name: string | null = 'my-store') {
  return {
    id,
    name,
    userId: 'BPWDBd7Z9c746JAnF',
    username: 'janedoe',
    createdAt: '2019-12-12T07:34:14.202Z',
    modifiedAt: '2019-12-13T08:36:13.202Z',
    accessedAt: '2019-12-14T08:36:13.202Z',
    generalAccess: 'RESTRICTED',
    stats: { readCount: 1, writeCount: 2, deleteCount: 0, listCount: 0, storageBytes: 10 },
  };
}
