import path from 'node:path';
import { defineConfig, type Options } from 'tsup';
import type { Plugin } from 'esbuild';

/**
 * The client keeps everything Node-specific (zlib, fs streams, keep-alive agents, the
 * node:http fast path) behind `src/client/platform/node.ts`. The browser bundle swaps that
 * module for `src/client/platform/browser.ts`, so no Node built-in reaches the bundle.
 */
const browserPlatform: Plugin = {
  name: 'browser-platform',
  setup(build) {
    build.onResolve({ filter: /platform\/node(\.js)?$/ }, () => ({
      path: path.resolve('src/client/platform/browser.ts'),
    }));
    // No MD5 in the browser bundle (WebCrypto has none, and its size budget has no room for one).
    build.onResolve({ filter: /\/integrity(\.js)?$/ }, () => ({
      path: path.resolve('src/client/integrity-off.ts'),
    }));
  },
};

/** A stand-in body that fails with a clear message if the bundle ever reaches it. */
const missing = (what: string, instead: string) =>
  `throw new Error("${what} is not in the apify-kv-client browser bundle: ${instead}")`;

/**
 * Stand-ins for dependency modules the browser client never runs, to keep the bundles within
 * their 32 KiB gzipped budget (together about 3.5 KB gzipped). Each one that could be called fails
 * with a message saying what is missing.
 *
 * - axios's XMLHttpRequest adapter. The browser client uses axios's fetch adapter: only fetch
 *   hands back a response body as a stream. (An upload whose progress is watched goes through the
 *   client's own much smaller XMLHttpRequest adapter, `platform/xhr-upload.ts`, in the progress
 *   add-on.) A client created
 *   with `adapter: 'xhr'` from a bundle fails its first request.
 * - axios's form-data support (building, parsing and serialising forms). The client sends bytes
 *   and strings of its own making, never forms, and never passes axios `params`.
 * - axios's `CancelToken` (the client cancels with an AbortSignal), its table of status-code
 *   names, and its cookie helper (read only for an XSRF cookie name, which the client never sets).
 * - is-retry-allowed, the list of error codes behind axios-retry's default retry condition. The
 *   client always passes a retry condition of its own (`http/retry.ts`).
 * - axios's config validator (it checks `transitional` and `paramsSerializer` options, which the
 *   client never sets), its check of `params` for cycles (the client never passes `params`), its
 *   size estimate of `data:` URLs (the client requests only http(s) URLs), and its multipart body
 *   builder (no forms).
 * - axios's progress-event helpers become pass-throughs: the client's own reporter
 *   (`http/progress.ts`) keeps counts in order and needs no throttling, speedometer or ETA.
 * - axios's `params` serializer (`buildURL`, `AxiosURLSearchParams`, `toURLEncodedForm`): the
 *   client builds its query strings itself; a request with `params` fails saying so. And its
 *   same-origin check, asked only whether to read the XSRF cookie that the stub above never finds.
 * - axios's parser of raw header text becomes a plain one: it reads only what XMLHttpRequest's
 *   `getAllResponseHeaders()` gives the progress add-on, where the browser has already joined
 *   repeated headers into one line, so axios's rules for duplicates and `set-cookie` have nothing
 *   to do (fetch's answers come as a `Headers` object and never reach it).
 * - axios's stock defaults (its JSON and form transforms, per-method header tables): the client's
 *   axios instance has none and every request names its adapter; what axios reads of them on
 *   loading stays.
 *
 * The bundles target ES2022 (class fields stay as written): browsers from 2021 on, which the
 * fetch adapter's streaming needs anyway.
 */
const AXIOS_LIB = /[\\/]axios[\\/]lib([\\/]|$)/;
const STUBS = [
  {
    module: /^\.\/xhr\.js$/,
    importer: AXIOS_LIB,
    contents: `export default function xhrAdapter() {
  return Promise.reject(new Error("axios's xhr adapter is not in this bundle: use adapter 'fetch'"));
}`,
  },
  {
    module: /(^|\/)toFormData\.js$/,
    importer: AXIOS_LIB,
    contents: `export const DEFAULT_FORM_DATA_MAX_DEPTH = 100;
export default function toFormData() { ${missing("axios's form-data support", 'send bytes or a string')} }`,
  },
  {
    module: /(^|\/)formDataToJSON\.js$/,
    importer: AXIOS_LIB,
    contents: `export default function formDataToJSON() { ${missing("axios's form-data support", 'send bytes or a string')} }`,
  },
  {
    module: /(^|\/)formDataToBlob\.js$/,
    importer: AXIOS_LIB,
    contents: `export class FormDataError extends TypeError {}
export default function formDataToBlob() { ${missing("axios's form-data support", 'send bytes or a string')} }`,
  },
  {
    module: /(^|\/)CancelToken\.js$/,
    importer: AXIOS_LIB,
    contents: `export default class CancelToken {
  constructor() { ${missing("axios's CancelToken", 'pass an AbortSignal as signal')} }
  static source() { return new CancelToken(); }
}`,
  },
  {
    module: /(^|\/)HttpStatusCode\.js$/,
    importer: AXIOS_LIB,
    contents: 'export default {};',
  },
  {
    module: /(^|\/)cookies\.js$/,
    importer: AXIOS_LIB,
    contents: 'export default { write() {}, read() { return null; }, remove() {} };',
  },
  {
    module: /(^|\/)validator\.js$/,
    importer: AXIOS_LIB,
    contents: `const any = () => () => true;
export default { assertOptions() {}, validators: { transitional: any, boolean: any, function: any, spelling: any } };`,
  },
  {
    module: /(^|\/)assertParamsAcyclic\.js$/,
    importer: AXIOS_LIB,
    contents: 'export default function assertParamsAcyclic() {}',
  },
  {
    module: /(^|\/)estimateDataURLDecodedBytes\.js$/,
    importer: AXIOS_LIB,
    contents: 'export default function estimateDataURLDecodedBytes() { return 0; }',
  },
  {
    module: /(^|\/)createMultipartBody\.js$/,
    importer: AXIOS_LIB,
    contents: `export default function createMultipartBody() { ${missing("axios's form-data support", 'send bytes or a string')} }`,
  },
  {
    module: /(^|\/)progressEventReducer\.js$/,
    importer: AXIOS_LIB,
    contents: `export const progressEventReducer = (listener) => [listener, () => {}];
export const progressEventDecorator = (total, reducer) => [(loaded) => reducer[0]({ loaded, total }), reducer[1]];
export const asyncDecorator = (fn) => fn;`,
  },
  {
    module: /(^|\/)toURLEncodedForm\.js$/,
    importer: AXIOS_LIB,
    contents: `export default function toURLEncodedForm() { ${missing("axios's form-data support", 'send bytes or a string')} }`,
  },
  {
    module: /(^|\/)buildURL\.js$/,
    importer: AXIOS_LIB,
    contents: `export default function buildURL(url, params) {
  if (params) { ${missing("axios's params option", 'put the query in the URL')} }
  return url;
}`,
  },
  {
    module: /(^|\/)AxiosURLSearchParams\.js$/,
    importer: AXIOS_LIB,
    contents: 'export default URLSearchParams;',
  },
  {
    module: /(^|\/)isURLSameOrigin\.js$/,
    importer: AXIOS_LIB,
    contents: 'export default function isURLSameOrigin() { return false; }',
  },
  {
    module: /(^|\/)parseHeaders\.js$/,
    importer: AXIOS_LIB,
    contents: `export default (raw) => {
  const headers = Object.create(null);
  for (const line of raw.split('\\n')) {
    const at = line.indexOf(':');
    if (at > 0) headers[line.slice(0, at).trim().toLowerCase()] = line.slice(at + 1).trim();
  }
  return headers;
};`,
  },
  {
    // Read only where a request or instance has none of its own: the client's instance has no
    // defaults (see http-client.ts) and each request names its adapter, so the stock transforms
    // of JSON and forms are never run. What is left is the shape axios reads on loading.
    module: /(^|\/)defaults\/index\.js$/,
    importer: AXIOS_LIB,
    contents: `export default {
  transitional: { silentJSONParsing: true, forcedJSONParsing: true, clarifyTimeoutError: false, legacyInterceptorReqResOrdering: true },
  adapter: ['fetch'],
  transformRequest: [],
  transformResponse: [],
  timeout: 0,
  maxContentLength: -1,
  maxBodyLength: -1,
  env: {},
  validateStatus: (status) => status >= 200 && status < 300,
  headers: { common: { Accept: 'application/json, text/plain, */*' } },
};`,
  },
  {
    module: /^is-retry-allowed$/,
    importer: /[\\/]axios-retry[\\/]/,
    contents: 'export default function isRetryAllowed() { return true; }',
  },
];

const browserStubs: Plugin = {
  name: 'browser-stubs',
  setup(build) {
    STUBS.forEach((stub, index) => {
      build.onResolve({ filter: stub.module }, (args) =>
        stub.importer.test(args.resolveDir) ? { path: String(index), namespace: 'stub' } : undefined,
      );
    });
    build.onLoad({ filter: /.*/, namespace: 'stub' }, (args) => ({ loader: 'js', contents: STUBS[Number(args.path)]!.contents }));
  },
};

/**
 * The add-on bundles (bulk methods, integrity checks) build on the main bundle: the client's public API
 * (`public-api.ts`) and its errors (`http/errors.ts`, all of them public) are taken from the main
 * bundle, never copied, so there is one `KeyValueStoreClient` to install on and one error class
 * of each kind. An add-on's ES module imports `./apify-kv.esm.js` beside it; its IIFE reads the
 * `ApifyKv` global, so `apify-kv.min.js` must be loaded first.
 */
const SHARED_WITH_MAIN = /(^|\/)(public-api|http\/errors)(\.js)?$/;
const fromMainModule: Plugin = {
  name: 'add-on-from-main-module',
  setup(build) {
    build.onResolve({ filter: SHARED_WITH_MAIN }, () => ({ path: './apify-kv.esm.js', external: true }));
  },
};
const fromMainGlobal = (addOn: string): Plugin => ({
  name: 'add-on-from-main-global',
  setup(build) {
    build.onResolve({ filter: SHARED_WITH_MAIN }, () => ({ path: 'ApifyKv', namespace: 'main-global' }));
    build.onLoad({ filter: /.*/, namespace: 'main-global' }, () => ({
      loader: 'js',
      contents: `const kv = globalThis.ApifyKv;
if (!kv) throw new Error('load apify-kv.min.js before ${addOn}');
export const { KeyValueStoreClient, KeyValueStoresClient, ApifyArgumentError, isApifyApiError } = kv;`,
    }));
  },
});

/**
 * The integrity add-on runs `integrity.ts` as it is, with the platform reduced to the MD5 of its
 * own (`platform/md5-only.ts`); the checks go under a global symbol that the main bundle's
 * stand-in (`integrity-off.ts`) looks up.
 */
const md5Platform: Plugin = {
  name: 'md5-platform',
  setup(build) {
    build.onResolve({ filter: /platform\/node(\.js)?$/ }, () => ({ path: path.resolve('src/client/platform/md5-only.ts') }));
  },
};

/** A browser bundle `dist/browser/{name}.min.js` (IIFE) and `{name}.esm.js`, minified, with all dependencies inside. */
function browserBundles(name: string, entry: string, plugins: { iife: Plugin[]; esm: Plugin[] }, globalName?: string): Options[] {
  return (['iife', 'esm'] as const).map((format) => ({
    entry: { [`browser/${name}.${format === 'iife' ? 'min' : 'esm'}`]: entry },
    format: [format],
    ...(format === 'iife' && globalName ? { globalName } : {}),
    platform: 'browser' as const,
    target: 'es2022',
    minify: true,
    sourcemap: true,
    noExternal: [/.*/],
    esbuildPlugins: plugins[format],
    // The maps name each line's source file and position, without a copy of the sources (axios's
    // and ours, about 350 KB per map): the package stays smaller than apify-client's install.
    esbuildOptions(options) {
      options.sourcesContent = false;
    },
    outExtension: () => ({ js: '.js' }),
  }));
}

// `stripInternal`: members marked `@internal` (constructors users never call, the resources'
// shared plumbing) stay out of the published types.
// The bulk bundle's types come with the Node build's, sharing their declarations.
const dtsOptions = {
  entry: {
    index: 'src/index.ts',
    'server/index': 'src/server/index.ts',
    'sdk/index': 'src/sdk/index.ts',
    'browser/apify-kv-bulk': 'src/browser-bulk.ts',
    'browser/apify-kv-integrity': 'src/browser-integrity.ts',
    'browser/apify-kv-progress': 'src/browser-progress.ts',
  },
  compilerOptions: { ignoreDeprecations: '6.0', stripInternal: true },
};

export default defineConfig([
  {
    entry: {
      index: 'src/index.ts',
      'server/index': 'src/server/index.ts',
      'sdk/index': 'src/sdk/index.ts',
    },
    format: ['esm', 'cjs'],
    platform: 'node',
    target: 'node20',
    dts: dtsOptions,
    // The CJS build gets `import.meta.url` from `__filename` (the server finds the browser bundle by it).
    shims: true,
    sourcemap: true,
    clean: true,
    splitting: false,
  },
  {
    entry: { 'cli/index': 'src/cli/index.ts' },
    format: ['esm'],
    platform: 'node',
    target: 'node20',
    sourcemap: true,
    // The API client is a chunk of its own, loaded only by commands that talk to an API: local
    // commands then start without loading axios.
    splitting: true,
    esbuildOptions(options) {
      options.chunkNames = 'cli/chunks/[name]-[hash]';
    },
  },
  // The browser bundles: the main one and its add-ons, each as an IIFE (`.min.js`) and an ES module.
  ...browserBundles('apify-kv', 'src/browser.ts', { iife: [browserPlatform, browserStubs], esm: [browserPlatform, browserStubs] }, 'ApifyKv'),
  ...browserBundles(
    'apify-kv-bulk',
    'src/browser-bulk.ts',
    { iife: [fromMainGlobal('apify-kv-bulk.min.js')], esm: [fromMainModule] },
    'ApifyKvBulk',
  ),
  ...browserBundles('apify-kv-integrity', 'src/browser-integrity.ts', {
    iife: [fromMainGlobal('apify-kv-integrity.min.js'), md5Platform],
    esm: [fromMainModule, md5Platform],
  }),
  // The progress add-on (the XMLHttpRequest upload adapter) needs nothing from the main bundle:
  // the main bundle hands it axios's classes when it calls it.
  ...browserBundles('apify-kv-progress', 'src/browser-progress.ts', { iife: [], esm: [] }),
  {
    // The storage browser page (src/web/): its script for the browser, with the page and its
    // styles copied beside it from src/web/public/. The server serves dist/web/.
    entry: { 'storage-browser': 'src/web/main.ts' },
    outDir: 'dist/web',
    publicDir: 'src/web/public',
    format: ['iife'],
    platform: 'browser',
    target: 'es2020',
    minify: true,
    sourcemap: true,
    noExternal: [/.*/],
    outExtension: () => ({ js: '.js' }),
  },
]);
