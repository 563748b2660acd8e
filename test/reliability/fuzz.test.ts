/**
 * Part 5 of the reliability suite: a seeded generator throws malformed and hostile requests at
 * the server over raw TCP (keys and store names with unicode, `/`, `..`, `%` and control
 * characters, odd query values, Content-Type / Content-Encoding / Content-Length lies, truncated
 * gzip and brotli bodies, invalid JSON). Every answer must be a success or a well-formed contract
 * error with a 4xx status; invalid keys and names must never be accepted; the server must keep
 * answering; no file may appear outside the storage directory; data stored before is unchanged.
 */
import { createHash } from 'node:crypto';
import { promises as fsp, watch, type FSWatcher } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApifyClient } from '../../src/index.js';
import { seededRandom } from './support/fault-proxy.js';
import { sendRaw, type RawOutcome } from './support/raw-http.js';
import {
  buildServerLauncher,
  bytesOf,
  deterministicBytes,
  makeTempDir,
  MiB,
  processStorageKind,
  removeDir,
  spawnServer,
  storedObjects,
  type ServerProcess,
} from './support/server-process.js';

const SEED = 55_2024;
/** Run over S3 (test/s3/reliability.test.ts) each request costs S3 round trips, so fewer fit in the time bound. */
const ON_S3 = processStorageKind() === 's3';
const REQUESTS = ON_S3 ? 2_500 : 4_000;
const CONCURRENCY = 16;
/** The run stops generating new requests after this long, whatever the count. */
const MAX_FUZZ_MILLIS = 60_000;
/** Every request must be answered within this long... */
const ANSWER_TIMEOUT_MILLIS = 5_000;
/** ...except one that declares more body than it sends: the server may rightly wait for the rest. */
const BODY_WAIT_MILLIS = 1_000;

const KEY_PATTERN = /^[a-zA-Z0-9!\-_.'()]{1,256}$/;
const NAME_PATTERN = /^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/;
const BASE = '/v2/key-value-stores';

/** Contents of the files placed next to the storage directory; no answer may ever hold them. */
const SECRETS = ['{"secret":"next to the storage"}', 'outside the storage directory'];

let root: string;
let storageDir: string;
let sibling: string;
let server: ServerProcess;
const watchers: FSWatcher[] = [];

beforeAll(async () => {
  root = await makeTempDir('kv-fuzz-');
  storageDir = path.join(root, 'storage');
  sibling = path.join(root, 'sibling');
  await fsp.mkdir(sibling);
  await fsp.writeFile(path.join(sibling, 'keep.txt'), SECRETS[1]!);
  await fsp.writeFile(path.join(root, 'secret.json'), SECRETS[0]!);
  const bin = path.join(root, 'bin');
  await fsp.mkdir(bin);
  const launcher = await buildServerLauncher(bin);
  server = await spawnServer(launcher, { storageDir });
}, 60_000);

afterAll(async () => {
  for (const watcher of watchers) watcher.close();
  await server?.kill('SIGTERM');
  await removeDir(root);
});

/** One generated request, and what the checks need to know about it. */
interface FuzzCase {
  method: string;
  target: Buffer;
  headers: Array<[string, string]>;
  body: Buffer;
  /** It declares more body than it sends, so the server may wait for the rest. */
  shortBody: boolean;
  /** Set when the request carries an invalid key or store name (delivered exactly): it must not succeed. */
  mustFail?: string;
}

/** A read of one record (GET or HEAD of `.../records/{key}`). */
function isRecordRead(c: FuzzCase): boolean {
  return (c.method === 'GET' || c.method === 'HEAD') && /\/records\/[^/?]+\/?(\?|$)/.test(c.target.toString('latin1'));
}

/**
 * A download of a store's records as a ZIP. Its headers go out before the bodies are read, so
 * when a record changes under it the only signal left is a cut transfer: allowed, not a crash.
 */
function isRecordsDownload(c: FuzzCase): boolean {
  return c.method === 'GET' && /^\/v2\/key-value-stores\/[^/?]+\/records\/?(\?|$)/.test(c.target.toString('latin1'));
}

const VALID_KEY_CHARS = "abcdefghijXYZ0123456789!-_.'()";
const NASTY = [
  '/', '..', '.', '%', '%2F', '%2e%2e', '%00', '\\', '?', '#', '&', '=', '+', ' ', '~', '*', ':', ';', '@', '"',
  '\u0000', '\u0001', '\t', '\u001b', '\u001f', '\u007f', '\u0085', '\u00e9', 'ключ', '漢字', '😀', '\u202e',
  '\ufeff', '\ud800', 'e\u0301', '\u2028', '../..', '%%', '%zz', '%C3%28',
];
const QUERY_NAMES = [
  'limit', 'exclusiveStartKey', 'prefix', 'collection', 'attachment', 'name', 'offset', 'desc', 'unnamed', 'ownership',
  'token', 'signature', 'expires', 'format', 'clean', 'disableRedirect', '', 'a b', 'limit[]',
];
const QUERY_VALUES = [
  '', '0', '1', '-1', '1000', '1001', '1e3', 'NaN', '9'.repeat(40), 'true', 'false', 'maybe', 'ownedByMe',
  'sharedWithMe', '%', '%zz', '..', '../..', 'a/b', '\u00ff', '😀', 'null', '[]', '{}', ' 5 ',
];
const CONTENT_TYPES = [
  'application/json', 'application/json; charset=utf-8', 'text/plain', 'text/plain; charset=utf-16',
  'application/octet-stream', 'image/png', '', ';;;', 'x'.repeat(1001), 'multipart/form-data; boundary=xyz',
  '*/*', 'text/html; charset=\u00fc', 'application/x-www-form-urlencoded', 'APPLICATION/JSON',
];
const ENCODINGS = ['gzip', 'br', 'deflate', 'identity', 'x-gzip', 'GZIP', 'compress', 'br, gzip', 'gzip;q=1', 'zstd', '', '\u00e9'];
const METHODS = ['GET', 'GET', 'GET', 'GET', 'HEAD', 'PUT', 'PUT', 'PUT', 'PUT', 'POST', 'POST', 'DELETE', 'DELETE', 'OPTIONS', 'PATCH', 'FOO'];
const ACCESS = ['RESTRICTED', 'ANYONE_WITH_ID_CAN_READ', 'ANYONE_WITH_NAME_CAN_READ', 'FOLLOW_USER_SETTING', 'PUBLIC', null, 5];

/**
 * encodeURIComponent, with lone surrogates (which it cannot encode) sent as U+FFFD: invalid in a
 * key or name either way.
 */
function encode(text: string): string {
  return encodeURIComponent(text.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd'));
}

/** A gzip body that inflates to 12 MiB of zeros: more than the 9 MiB payload limit. */
const GZIP_BOMB = gzipSync(Buffer.alloc(12 * MiB));

function generator(seed: number, playground: { id: string; name: string }, unnamedId: string) {
  const random = seededRandom(seed);
  const chance = (p: number) => random() < p;
  const int = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;

  const randomText = (length: number) => {
    let out = '';
    while (out.length < length) out += chance(0.6) ? pick(Array.from(VALID_KEY_CHARS)) : pick(NASTY);
    return out.slice(0, length);
  };
  const randomKey = () => {
    const length = chance(0.15) ? pick([0, 1, 255, 256, 257, 300]) : chance(0.5) ? int(1, 20) : int(0, 300);
    // A third of the keys are valid ones, so requests also get past validation.
    if (chance(0.33)) return Array.from({ length: Math.max(1, length % 257) }, () => pick(Array.from(VALID_KEY_CHARS))).join('');
    return randomText(length);
  };
  const randomName = () =>
    pick([
      () => `fz-${int(0, 40)}`,
      () => 'protected',
      () => 'a'.repeat(63),
      () => 'a'.repeat(64),
      () => '-lead',
      () => 'trail-',
      () => '',
      () => randomText(int(0, 70)),
    ])();

  /** A path segment: mostly encoded exactly, sometimes raw, double-encoded or broken. */
  const segment = (text: string): { bytes: Buffer; exact: boolean } => {
    const r = random();
    const encoded = encode(text);
    if (r < 0.76) return { bytes: Buffer.from(encoded), exact: true };
    if (r < 0.86) return { bytes: Buffer.from(encodeURIComponent(encoded)), exact: false };
    if (r < 0.96) {
      const at = int(0, encoded.length);
      return { bytes: Buffer.from(encoded.slice(0, at) + pick(['%', '%G1', '%C3%28', '%E0%80', '%2']) + encoded.slice(at)), exact: false };
    }
    // Raw bytes on the wire: most of these never get past the HTTP parser.
    if (r < 0.98) return { bytes: Buffer.from(text.replace(/[\r\n]/g, (c) => encodeURIComponent(c)), 'utf8'), exact: false };
    return { bytes: Buffer.from(text.replace(/[\r\n]/g, ''), 'latin1'), exact: false };
  };

  const storeRef = (method: string) => {
    const r = random();
    // Deleting the stores the fuzzer works in would leave it little to work on.
    if (method === 'DELETE') return segment(randomKey());
    if (r < 0.5) return segment(playground.id);
    if (r < 0.6) return segment(playground.name);
    if (r < 0.7) return segment(unnamedId);
    if (r < 0.75) return segment(`~${playground.name}`);
    return segment(randomKey());
  };

  const query = () => {
    const params: Buffer[] = [];
    const pairs: Array<[string, string]> = [];
    for (let i = int(0, 3); i > 0; i--) pairs.push([pick(QUERY_NAMES), chance(0.8) ? pick(QUERY_VALUES) : randomText(int(0, 30))]);
    for (const [name, value] of pairs) {
      const v = chance(0.97) ? segment(value).bytes : Buffer.from(value.replace(/[\r\n ]/g, ''), 'utf8');
      params.push(Buffer.concat([Buffer.from(encode(name)), Buffer.from('='), v]));
    }
    if (params.length === 0) return Buffer.alloc(0);
    return Buffer.concat([Buffer.from('?'), ...params.flatMap((p, i) => (i === 0 ? [p] : [Buffer.from('&'), p]))]);
  };

  const body = (method: string): { body: Buffer; encoding?: string } => {
    const sendsBody = method === 'PUT' || method === 'POST' || chance(0.1);
    if (!sendsBody) return { body: Buffer.alloc(0) };
    const plain = () =>
      pick([
        () => Buffer.alloc(0),
        () => deterministicBytes(`fuzz:${random()}`, int(0, 20_000)),
        () => Buffer.from(randomText(int(0, 500))),
        () => Buffer.from(JSON.stringify({ name: chance(0.7) ? randomName() : null, generalAccess: pick(ACCESS) })),
        () => Buffer.from(JSON.stringify({ generalAccess: pick(ACCESS) })),
        () => Buffer.from(pick(['{', '{"name":', 'null', '[]', '"x"', '{"name":123}', '\u0000', '{"name":"a"}garbage', '['.repeat(5000), '{"__proto__":{"x":1}}'])),
      ])();
    const r = random();
    if (r < 0.55) return { body: plain(), encoding: chance(0.1) ? pick(ENCODINGS) : undefined };
    const inner = plain();
    if (r < 0.65) return { body: gzipSync(inner), encoding: chance(0.85) ? 'gzip' : pick(ENCODINGS) };
    if (r < 0.75) {
      const whole = gzipSync(inner);
      return { body: whole.subarray(0, int(0, whole.length - 1)), encoding: 'gzip' };
    }
    if (r < 0.82) return { body: brotliCompressSync(inner), encoding: chance(0.85) ? 'br' : pick(ENCODINGS) };
    if (r < 0.9) {
      const whole = brotliCompressSync(inner);
      return { body: whole.subarray(0, int(0, Math.max(0, whole.length - 2))), encoding: 'br' };
    }
    if (r < 0.95) return { body: chance(0.5) ? deflateSync(inner) : deterministicBytes(`junk:${random()}`, int(1, 200)), encoding: 'deflate' };
    if (r < 0.97) return { body: GZIP_BOMB, encoding: 'gzip' };
    return { body: inner, encoding: pick(['gzip', 'br', 'deflate']) }; // says compressed, is not
  };

  return (): FuzzCase => {
    const method = pick(METHODS);
    let mustFail: string | undefined;
    const parts: Buffer[] = [Buffer.from(BASE)];
    const r = random();
    let nameParam: string | undefined;
    if (r < 0.12) {
      // the store collection; POST creates, with a name that may be invalid
      if (method === 'POST' && chance(0.8)) {
        const name = randomName();
        nameParam = `name=${encode(name)}`;
        if (!NAME_PATTERN.test(name)) mustFail = `store name ${JSON.stringify(name)}`;
      }
    } else if (r < 0.95) {
      const rr = random();
      const ref = storeRef(rr < 0.15 ? method : 'GET');
      parts.push(Buffer.from('/'), ref.bytes);
      if (rr < 0.15) {
        // the store itself
      } else if (rr < 0.27) {
        parts.push(Buffer.from('/keys'));
      } else if (rr < 0.3) {
        parts.push(Buffer.from('/records'));
      } else {
        const key = randomKey();
        const seg = segment(key);
        parts.push(Buffer.from('/records/'), seg.bytes);
        const tail = random();
        if (tail < 0.07) parts.push(Buffer.from('/direct-upload-url'));
        else if (tail < 0.12) parts.push(Buffer.from('/direct-upload'));
        else if (tail < 0.14) parts.push(Buffer.from(pick(['/', '//', '/x', '/..'])));
        // An empty key leaves `/records/` (the records download); OPTIONS is a CORS preflight.
        const checked = seg.exact && key !== '' && method !== 'OPTIONS' && !(tail >= 0.12 && tail < 0.14);
        if (checked && !(KEY_PATTERN.test(key) && key !== '.' && key !== '..')) mustFail = `record key ${JSON.stringify(key)}`;
      }
    } else {
      parts.length = 0;
      parts.push(
        Buffer.from(
          pick([
            '/', '*', '//', '/v2', '/v2/', '/v2/../etc/passwd', `${BASE}//x`, `http://127.0.0.1${BASE}`, `${BASE}/%2e%2e/%2e%2e`,
            '/\u0000', `${BASE}/../../secret.json`, '/../secret.json', '/%2e%2e/secret.json', '/assets/..%2f..%2fsecret.json',
            '/assets/../../sibling/keep.txt', '/assets/storage-browser.js', '/assets/%2e%2e/%2e%2e/secret.json',
          ]),
        ),
      );
    }
    const rest = query();
    if (nameParam === undefined) parts.push(rest);
    else parts.push(Buffer.from(`?${nameParam}`), rest.length > 0 ? Buffer.concat([Buffer.from('&'), rest.subarray(1)]) : rest);
    const target = Buffer.concat(parts);

    const { body: payload, encoding } = body(method);
    const headers: Array<[string, string]> = [];
    if (chance(0.8)) headers.push(['Content-Type', pick(CONTENT_TYPES)]);
    if (encoding !== undefined) headers.push(['Content-Encoding', encoding]);
    let sent = payload;
    const framing = random();
    if (payload.length === 0 && framing < 0.5) {
      // no framing headers at all
    } else if (framing < 0.78) {
      headers.push(['Content-Length', String(payload.length)]);
    } else if (framing < 0.86) {
      headers.push(['Transfer-Encoding', 'chunked']);
      sent = Buffer.concat([Buffer.from(`${payload.length.toString(16)}\r\n`), payload, Buffer.from('\r\n0\r\n\r\n')]);
      if (payload.length === 0) sent = Buffer.from('0\r\n\r\n');
    } else if (framing < 0.91) {
      headers.push(['Content-Length', String(payload.length + int(1, 1000))]);
    } else if (framing < 0.95) {
      headers.push(['Content-Length', String(Math.max(0, payload.length - int(1, 100)))]);
    } else if (framing < 0.98) {
      headers.push(['Content-Length', pick(['abc', '-1', '1e3', ' 12', '9'.repeat(20), '0x10', ''])]);
    } else {
      headers.push(['Content-Length', String(payload.length)], ['Content-Length', String(payload.length + 1)]);
    }
    // A length the parser reads as more than was sent (" 12" counts: a field value may have spaces around it).
    const lengths = headers.filter(([name]) => name === 'Content-Length').map(([, value]) => value.trim());
    const shortBody = lengths.length === 1 && /^\d{1,15}$/.test(lengths[0]!) && Number(lengths[0]) > sent.length;
    if (chance(0.05)) headers.push(['Expect', '100-continue']);
    if (chance(0.04)) headers.push(['Authorization', pick(['Bearer junk', 'Basic abc', 'Bearer', ''])]);
    if (chance(0.05)) headers.push([pick(['X-Fuzz', 'Accept-Encoding', 'Range', 'If-None-Match']), randomText(int(0, 40)).replace(/[\r\n]/g, '')]);
    return { method, target, headers, body: sent, shortBody, mustFail };
  };
}

/** Why an outcome breaks the contract, or null if it is fine. */
function problemWith(c: FuzzCase, outcome: RawOutcome): string | null {
  if (outcome.kind === 'timeout') return c.shortBody ? null : `no answer within ${ANSWER_TIMEOUT_MILLIS} ms`;
  if (outcome.kind === 'closed') return c.shortBody ? null : `connection closed without an answer (${outcome.received.length} bytes)`;
  const { status, headers, body, complete } = outcome;
  if (SECRETS.some((secret) => body.includes(secret))) return `${status}: the answer holds a file from outside the storage directory`;
  if (!complete && !(status === 200 && isRecordsDownload(c))) return `answer ${status} cut short`;
  if (status >= 500) return `server error ${status}: ${body.toString('utf8').slice(0, 200)}`;
  if (status < 400) {
    if (c.mustFail) return `${status}: accepted an invalid ${c.mustFail}`;
    // API answers are JSON; a record is whatever was stored, under whatever content type.
    if (!isRecordRead(c) && /json/.test(headers['content-type'] ?? '') && body.length > 0) {
      try {
        JSON.parse(body.toString('utf8'));
      } catch {
        return `${status} with a JSON content type but a body that does not parse`;
      }
    }
    return null;
  }
  if (c.method === 'HEAD') return null; // no body to check
  if (!/^application\/json\b/.test(headers['content-type'] ?? '')) return `${status} without a JSON content type: ${JSON.stringify(headers['content-type'])} ${body.toString('latin1').slice(0, 100)}`;
  let parsed: { error?: { type?: unknown; message?: unknown } };
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return `${status} error body is not JSON: ${body.toString('latin1').slice(0, 100)}`;
  }
  const { type, message } = parsed.error ?? {};
  if (typeof type !== 'string' || type === '' || typeof message !== 'string' || message === '') {
    return `${status} error body is not {error:{type,message}}: ${body.toString('utf8').slice(0, 200)}`;
  }
  return null;
}

function describeCase(c: FuzzCase): string {
  const head = `${c.method} ${JSON.stringify(c.target.toString('latin1').slice(0, 120))}`;
  const headers = c.headers.map(([n, v]) => `${n}: ${JSON.stringify(v.slice(0, 40))}`).join('; ');
  return `${head} [${headers}] body ${c.body.length} bytes ${JSON.stringify(c.body.subarray(0, 60).toString('latin1'))}`;
}

/**
 * Every file under `dir` with a digest, as paths relative to it. A file that vanishes while it is
 * read (the server may still be removing the temp file of an upload cut short) is left out.
 */
async function filesUnder(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const ignoreVanished = (error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
    return null;
  };
  const walk = async (current: string) => {
    const entries = await fsp.readdir(current, { withFileTypes: true }).catch(ignoreVanished);
    for (const entry of entries ?? []) {
      const full = path.join(current, entry.name);
      if (entry.isDirectory()) {
        await walk(full);
      } else if (!entry.isFile()) {
        out.set(path.relative(dir, full), 'not a regular file');
      } else {
        const data = await fsp.readFile(full).catch(ignoreVanished);
        if (data) out.set(path.relative(dir, full), createHash('sha256').update(data).digest('hex'));
      }
    }
  };
  await walk(dir);
  return out;
}

describe('bad input fuzzing', () => {
  it(`answers ${REQUESTS} hostile requests with successes or well-formed 4xx errors, and changes nothing it should not`, async () => {
    // Data stored before the fuzzing, through the client, which must come out unchanged.
    const client = new ApifyClient({ baseUrl: server.url });
    const kvs = client.keyValueStores;
    const protectedStore = await kvs.getOrCreateStore({ storeName: 'protected' });
    const protectedRecords = new Map<string, { body: Buffer; contentType: string }>([
      ['INPUT', { body: Buffer.from('{"hello":"world","n":[1,2,3]}'), contentType: 'application/json; charset=utf-8' }],
      ['notes.txt', { body: Buffer.from('plain text, ünïcödé'), contentType: 'text/plain; charset=utf-8' }],
      ['blob', { body: deterministicBytes('blob', 50_000), contentType: 'application/octet-stream' }],
      ['big', { body: deterministicBytes('big', 2 * MiB), contentType: 'image/png' }],
    ]);
    for (const [key, { body, contentType }] of protectedRecords) {
      await kvs.putRecord({ storeId: protectedStore.id, key, body, contentType });
    }
    const playground = await kvs.getOrCreateStore({ storeName: 'playground' });
    const unnamed = await kvs.getOrCreateStore();
    await kvs.putRecord({ storeId: playground.id, key: 'existing', body: 'x' });

    const outsideBefore = await filesUnder(root).then((files) => new Map([...files].filter(([f]) => !f.startsWith(`storage${path.sep}`))));
    // The protected store's files: in its folder, or on S3 its objects under the prefix.
    const protectedFiles = async () => {
      const files = ON_S3
        ? await storedObjects(storageDir, `key_value_stores/${protectedStore.id}`)
        : await filesUnder(path.join(storageDir, 'key_value_stores', 'protected'));
      files.delete('__metadata__.json'); // holds access times and counters
      return files;
    };
    const protectedFilesBefore = await protectedFiles();
    const fsEvents: string[] = [];
    watchers.push(watch(root, (event, name) => name !== 'storage' && fsEvents.push(`${event} ${name}`)));
    watchers.push(watch(sibling, (event, name) => fsEvents.push(`${event} sibling/${name}`)));

    const next = generator(SEED, { id: playground.id, name: 'playground' }, unnamed.id);
    const problems: string[] = [];
    const statuses = new Map<string, number>();
    const errorTypes = new Map<string, number>();
    let invalidDelivered = 0;
    let cutDownloads = 0;
    let sentCount = 0;
    let waitedForBody = 0;
    const started = Date.now();
    const worker = async () => {
      while (sentCount < REQUESTS && Date.now() - started < MAX_FUZZ_MILLIS) {
        sentCount++;
        const c = next();
        const outcome = await sendRaw(server.port, {
          method: c.method,
          target: c.target,
          headers: c.headers,
          body: c.body,
          timeoutMillis: c.shortBody ? BODY_WAIT_MILLIS : ANSWER_TIMEOUT_MILLIS,
        });
        const label = outcome.kind === 'answer' ? String(outcome.status) : outcome.kind;
        statuses.set(label, (statuses.get(label) ?? 0) + 1);
        if (outcome.kind !== 'answer' && c.shortBody) waitedForBody++;
        if (c.mustFail) invalidDelivered++;
        if (outcome.kind === 'answer' && !outcome.complete && isRecordsDownload(c)) cutDownloads++;
        if (outcome.kind === 'answer' && outcome.status >= 400 && c.method !== 'HEAD') {
          let type = 'unparsed';
          try {
            type = JSON.parse(outcome.body.toString('utf8')).error.type;
          } catch {
            // reported by problemWith
          }
          if (/not valid HTTP/.test(outcome.body.toString('utf8'))) type += ' (HTTP parser)';
          errorTypes.set(type, (errorTypes.get(type) ?? 0) + 1);
        }
        const problem = problemWith(c, outcome);
        if (problem) problems.push(`${problem}\n      request: ${describeCase(c)}`);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const fuzzMillis = Date.now() - started;
    if (!server.alive()) {
      console.log(`the server died during fuzzing: ${JSON.stringify(await server.exited)}\n${server.stderr()}`);
      console.log(problems.slice(0, 5).join('\n'));
    }
    expect(server.alive()).toBe(true);

    // Still alive and answering.
    const health = await sendRaw(server.port, { method: 'GET', target: BASE, timeoutMillis: ANSWER_TIMEOUT_MILLIS });
    // The data stored before is unchanged.
    const direct = new ApifyClient({ baseUrl: server.url, maxRetries: 0 });
    const changed: string[] = [];
    for (const [key, expected] of protectedRecords) {
      const got = await direct.keyValueStores.getRecord({ storeId: protectedStore.id, key, disableBodyParser: true });
      if (!got || got.contentType !== expected.contentType || !bytesOf(got.body).equals(expected.body)) changed.push(key);
    }
    const protectedKeys: string[] = [];
    for await (const item of direct.keyValueStores.iterateKeys({ storeId: protectedStore.id })) protectedKeys.push(item.key);
    const protectedInfo = await direct.keyValueStores.getStore({ storeId: protectedStore.id });
    const protectedFilesAfter = await protectedFiles();
    // Nothing new or changed outside the storage directory, and inside it only store folders.
    const filesAfter = await filesUnder(root);
    const outsideAfter = new Map([...filesAfter].filter(([f]) => !f.startsWith(`storage${path.sep}`)));
    const misplaced = ON_S3
      ? [
          // Over S3 the server writes nothing to disk at all...
          ...[...filesAfter.keys()].filter((f) => f.startsWith(`storage${path.sep}`)),
          // ...and in the bucket only records and metadata in store folders, the id and name
          // objects, and the signing secret.
          ...[...(await storedObjects(storageDir)).keys()].filter(
            (f) => !/^key_value_stores\/[^/]+\/[^/]+$/.test(f) && !/^\.apify-kv\/(stores|names)\/[^/]+$/.test(f) && f !== '.apify-kv/signing-secret',
          ),
        ]
      : [...filesAfter.keys()]
          .filter((f) => f.startsWith(`storage${path.sep}`))
          .filter((f) => !/^storage\/key_value_stores\/[^/]+\/(\.tmp\/)?[^/]+$/.test(f.split(path.sep).join('/')))
          // The server's signing secret, made when it started.
          .filter((f) => f.split(path.sep).join('/') !== 'storage/.apify-kv/signing-secret');

    console.log(
      [
        `fuzzing: ${sentCount} requests in ${(fuzzMillis / 1000).toFixed(1)} s (seed ${SEED}, concurrency ${CONCURRENCY})`,
        `  outcomes: ${[...statuses].sort().map(([s, n]) => `${s} ${n}`).join(', ')}`,
        `  error types: ${[...errorTypes].sort((a, b) => b[1] - a[1]).map(([t, n]) => `${t} ${n}`).join(', ')}`,
        `  requests with an invalid key or store name, sent exactly: ${invalidDelivered} (all must be refused)`,
        `  requests that declared more body than they sent and were left waiting: ${waitedForBody}`,
        `  records downloads cut because a record changed under them: ${cutDownloads}`,
        `  contract problems: ${problems.length}`,
        ...problems.slice(0, 15).map((p) => `    ${p}`),
      ].join('\n'),
    );

    expect(sentCount).toBeGreaterThanOrEqual(REQUESTS);
    expect(problems).toEqual([]);
    expect(health.kind === 'answer' && health.status).toBe(200);
    expect(server.alive()).toBe(true);
    expect(server.stderr()).not.toMatch(/Request failed/);
    expect(changed).toEqual([]);
    expect(protectedKeys.sort()).toEqual([...protectedRecords.keys()].sort());
    expect(protectedInfo?.name).toBe('protected');
    expect(Object.fromEntries(protectedFilesAfter)).toEqual(Object.fromEntries(protectedFilesBefore));
    expect(Object.fromEntries(outsideAfter)).toEqual(Object.fromEntries(outsideBefore));
    expect(misplaced).toEqual([]);
    expect(fsEvents).toEqual([]);
  }, 120_000);
});

describe('requests the HTTP parser refuses', () => {
  it('get a contract error, not a bare 400', async () => {
    for (const [method, target, headers] of [
      ['GET', `${BASE}/a\u0001b`, []],
      ['GET', `${BASE}/a b`, []],
      ['FOO', BASE, []],
      ['PUT', `${BASE}/x/records/k`, [['Content-Length', '1'], ['Content-Length', '2']]],
      ['PUT', `${BASE}/x/records/k`, [['Content-Length', 'abc']]],
    ] as Array<[string, string, Array<[string, string]>]>) {
      const outcome = await sendRaw(server.port, { method, target, headers, body: Buffer.from('ab'), timeoutMillis: ANSWER_TIMEOUT_MILLIS });
      expect(outcome.kind, target).toBe('answer');
      if (outcome.kind !== 'answer') continue;
      expect(outcome.status, target).toBe(400);
      expect(outcome.headers['content-type']).toMatch(/^application\/json/);
      expect(JSON.parse(outcome.body.toString('utf8')).error.type).toBe('invalid-input');
    }
  });

  it('bytes after a request that said Connection: close do not cost that request its answer', async () => {
    const client = new ApifyClient({ baseUrl: server.url });
    const store = await client.keyValueStores.getOrCreateStore({ storeName: 'after-close' });
    await client.keyValueStores.putRecord({ storeId: store.id, key: 'k', body: 'value' });
    for (const target of [`${BASE}/${store.id}/records/k`, `${BASE}/${store.id}/keys`, `${BASE}/${store.id}/records`]) {
      // Content-Length 3, then 13 more bytes the server must not treat as a request.
      const outcome = await sendRaw(server.port, {
        method: 'GET',
        target,
        headers: [['Content-Length', '3']],
        body: Buffer.from('abcdefghijklmnop'),
        timeoutMillis: ANSWER_TIMEOUT_MILLIS,
      });
      expect(outcome.kind === 'answer' && outcome.status, target).toBe(200);
    }
  });
});

describe('a records download racing with writes', () => {
  it('never takes the server down when records change under it', async () => {
    const client = new ApifyClient({ baseUrl: server.url });
    const kvs = client.keyValueStores;
    const store = await kvs.getOrCreateStore({ storeName: 'zip-race' });
    const keys = Array.from({ length: 60 }, (_, i) => `r${String(i).padStart(2, '0')}`);
    for (const key of keys) await kvs.putRecord({ storeId: store.id, key, body: deterministicBytes(key, 100_000), contentType: 'text/html' });

    // Start the download, read a little, and stop reading: the archive opens each body only when it gets there.
    const download = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port: server.port, path: `${BASE}/${store.id}/records`, agent: false }, resolve);
      req.on('error', reject);
    });
    expect(download.statusCode).toBe(200);
    await new Promise((resolve) => download.once('data', resolve));
    download.pause();
    // Replace every record (another content type moves its file) or delete it, then read on.
    for (const [i, key] of keys.entries()) {
      if (i % 2 === 0) await kvs.putRecord({ storeId: store.id, key, body: { replaced: key } });
      else await kvs.deleteRecord({ storeId: store.id, key });
    }
    const ended = await new Promise<string>((resolve) => {
      download.on('end', () => resolve('complete'));
      download.on('error', () => resolve('cut'));
      download.on('aborted', () => resolve('cut'));
      download.resume();
    });
    console.log(`records download while its records changed: ${ended}`);

    expect(server.alive()).toBe(true);
    const health = await sendRaw(server.port, { method: 'GET', target: BASE, timeoutMillis: ANSWER_TIMEOUT_MILLIS });
    expect(health.kind === 'answer' && health.status).toBe(200);
  });
});
