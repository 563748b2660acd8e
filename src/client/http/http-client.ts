/**
 * The one HTTP layer: an axios instance with axios-retry, the token in the `Authorization`
 * header, and transport errors converted once into the client's own errors.
 *
 * Request path: `HttpClient.request` prepares the body once (compressing it if asked) and sends
 * it through the axios instance, whose adapter comes from the client options, else from the
 * platform module (the lean node:http adapter in Node, fetch in the browser). The lean adapter
 * takes the request as the client prepared it (`PreparedRequest`), and axios's config then holds
 * only the method, URL, adapter and that request; other adapters get a full axios config.
 * axios-retry repeats failed attempts as `retry.ts` decides: `retryCondition` picks the failures
 * worth another attempt, `onRetry` waits out the backoff and makes the body ready to be sent
 * again. Whatever the last attempt threw is converted in one place, `toClientError`.
 */
import axios, { type AxiosInstance } from 'axios';
import axiosRetryImport from 'axios-retry';
import { platform } from '../platform/node.js';
import type { StreamSource, Transport } from '../platform/types.js';
import { ApifyApiError, ApifyNetworkError, redact } from './errors.js';
import { resourceOfPath } from './adaptive-rate.js';
import { attemptTimeout, Call, type CallConfig } from './call.js';
import type { HttpClientConfig, HttpMethod, HttpRequest, HttpResponse } from './request-types.js';
import { isRetryable, isTimeout, parseRetryAfter, retryDelayMillis, type RetryPolicy } from './retry.js';
import { progressReporter, type ProgressReporter } from './progress.js';
import { abortReason } from './sleep.js';
import {
  bytesOf,
  EMPTY,
  encodePathSegment,
  headerOf,
  MAX_ERROR_BODY_BYTES,
  parseEnvelope,
  parseErrorBody,
  pathOfUrl,
  queryString,
  sanitize,
  toBytes,
} from './wire.js';

// Used by the resources and the body encoder; they live in wire.ts and request-types.ts.
export { bytesOf, encodePathSegment, headerOf };
export type {
  AdapterOption,
  CallDefaults,
  CallOptions,
  HttpClientConfig,
  HttpMethod,
  HttpRequest,
  HttpResponse,
  RequestInterceptorFunction,
} from './request-types.js';

// axios-retry's CommonJS build puts the function on `exports.default`. Node's interop (which our
// CommonJS build follows) hands the whole exports object over as the default import there, so
// `require('apify-kv-client')` needs the `.default` of it; the ESM builds get the function itself.
const axiosRetry: typeof axiosRetryImport =
  (axiosRetryImport as unknown as { default?: typeof axiosRetryImport }).default ?? axiosRetryImport;

const isSuccess = (status: number) => status >= 200 && status < 300;

/** The one place requests are sent from. */
export class HttpClient {
  /** The axios instance, with axios-retry; the transport's adapter carries every attempt. */
  readonly axios: AxiosInstance;
  private readonly transport: Transport;
  /** Whether request hooks are registered: each request then goes out as a full axios config. */
  private readonly hooked: boolean;

  constructor(private readonly config: HttpClientConfig) {
    const instance = axios.create();
    // axios merges the instance defaults into every request; its stock ones (form handling, XSRF
    // cookie names, transitional flags, per-method headers, JSON transforms) serve nothing here,
    // and merging them costs more than the rest of a request. So the instance has none: each
    // request carries what it needs (see `request`). Without transformRequest/transformResponse,
    // axios leaves bodies alone: the client encodes and decodes them itself.
    const defaults = instance.defaults as Record<string, unknown>;
    for (const key of Object.keys(defaults)) delete defaults[key];
    this.transport = platform.transport(config.adapter);
    const userAgent = this.transport.headers['User-Agent'];
    if (userAgent && config.userAgentSuffix) this.transport.headers['User-Agent'] = `${userAgent} ${config.userAgentSuffix}`;
    const { requestInterceptorId } = axiosRetry(instance, {
      // Each call has its own limit, checked in retryCondition.
      retries: Infinity,
      retryCondition: (error) => {
        const call = (error.config as CallConfig | undefined)?.call;
        const throttled = error.response?.status === 429;
        if (call && throttled) config.rateLimiter?.record(call.resource, true, call.sentAt);
        if (
          !call ||
          call.attempt > call.policy.maxRetries ||
          call.signal?.aborted ||
          // A one-shot stream was consumed by the failed attempt: axios-retry would send it EMPTY.
          (call.source && !call.source.replayable) ||
          (!call.retryTimeouts && isTimeout(error)) ||
          !isRetryable(error, call.idempotent)
        ) {
          return false;
        }
        const now = config.now();
        const retryAfter = parseRetryAfter(headerOf(error.response?.headers, 'retry-after'), now);
        // A server asking for a longer pause than the client allows: its answer stands.
        if (retryAfter > call.policy.maxRetryAfterMillis) return false;
        call.nextDelay = retryDelayMillis(call.policy, call.attempt, retryAfter);
        // No retry that could not start before the call's deadline.
        if (now + call.nextDelay >= call.deadline) return false;
        if (!throttled && config.retryBudget) {
          const cost = config.retryBudget.take(isTimeout(error));
          if (cost === undefined) {
            call.budgetExhausted = true;
            return false;
          }
          call.budgetSpent += cost;
        }
        return true;
      },
      // axios-retry 4.5 waits exactly what retryDelay returns (it weighs Retry-After, uncapped,
      // only in its own delay functions), on a timer of its own that neither follows the client's
      // clock nor ends with the caller's reason. So its wait is 0, and `onRetry` waits instead:
      // the client's policy (backoff with full jitter, Retry-After up to its cap) on its clock.
      retryDelay: () => 0,
      // Each attempt gets the full `timeout`.
      shouldResetTimeout: true,
      onRetry: async (retry, error, axiosConfig) => {
        const call = (axiosConfig as CallConfig).call!;
        // The failed answer's body will not be read; free its socket.
        if (call.stream && error.response) platform.discardStream(error.response.data);
        // Rejects with the signal's reason when the call is cancelled meanwhile.
        await this.config.sleep(call.nextDelay, call.signal);
        if (this.config.rateLimiter) call.sentAt = await this.config.rateLimiter.acquire(call.resource, call.signal);
        call.attempt = retry + 1;
        call.timeoutMillis = attemptTimeout(call, config.now());
        if (!call.shortPath) axiosConfig.timeout = call.timeoutMillis;
        if (call.source) {
          call.data = call.source.open();
          if (!call.shortPath) axiosConfig.data = call.data;
        }
        if (call.fresh) Object.assign(axiosConfig, call.fresh());
      },
    });
    // axios-retry's request hook only stamps each attempt's start, which it uses to shrink the
    // timeout of later attempts; here each attempt has its full timeout (`shouldResetTimeout`).
    // Its response hook, which decides and runs the retries, sets up the same state when a request
    // fails. Without the request hook, each request costs about a tenth less CPU time.
    instance.interceptors.request.eject(requestInterceptorId);
    const hooks = config.requestInterceptors ?? [];
    this.hooked = hooks.length > 0;
    if (this.hooked) {
      // axios runs request interceptors last registered first: this one runs after the user's and
      // puts the query (`params`, which they may change) into the URL, where every adapter reads it.
      // Joined here, not by axios's getUri: the browser bundle leaves axios's `params` support out.
      instance.interceptors.request.use((c) => {
        const query = queryString(c.params as Parameters<typeof queryString>[0]);
        if (query) c.url += c.url!.includes('?') ? `&${query.slice(1)}` : query;
        c.params = undefined;
        return c;
      });
      type Hook = Parameters<typeof instance.interceptors.request.use>[0];
      for (const hook of hooks) instance.interceptors.request.use(hook as Hook);
    }
    this.axios = instance;
  }

  /** Sends a request (with retries) and returns its 2xx answer, or throws the client's error. */
  async request(req: HttpRequest): Promise<HttpResponse> {
    const defaults = this.config.defaults();
    const options = req.call ?? {};
    const policy: RetryPolicy =
      options.maxRetries === undefined ? defaults.retry : { ...defaults.retry, maxRetries: options.maxRetries };
    const timeoutSecs = options.timeoutSecs ?? defaults.timeoutSecs;
    const totalSecs = options.totalTimeoutSecs ?? defaults.totalTimeoutSecs;

    const headers: Record<string, string> = Object.assign({}, this.transport.headers, req.headers);
    const token = req.url ? undefined : this.config.token();
    if (token) headers.Authorization = `Bearer ${token}`;
    let data: unknown;
    let source: StreamSource | undefined;
    let upload: ProgressReporter | undefined;
    const body = req.body;
    if (body) {
      headers['Content-Type'] = body.contentType;
      if (body.bytes) {
        let bytes = body.bytes;
        // Only a body large enough to be compressed waits for it.
        const compressing = req.compress ? platform.compress(bytes) : undefined;
        if (compressing) {
          const compressed = await compressing;
          bytes = compressed.data;
          headers['Content-Encoding'] = compressed.encoding;
        }
        data = platform.requestData(bytes);
        if (options.onUploadProgress) upload = progressReporter(options.onUploadProgress, body.bytes.byteLength, bytes.byteLength);
      } else if (body.stream) {
        source = body.stream;
        const size = await source.size();
        if (size !== undefined) headers['Content-Length'] = String(size);
        data = source.open();
        if (options.onUploadProgress) upload = progressReporter(options.onUploadProgress, size);
      }
    }

    const stream = req.responseType === 'stream';
    const attemptMillis = Math.max(1, Math.round(timeoutSecs * 1000));
    const deadline = totalSecs === undefined ? Infinity : this.config.now() + totalSecs * 1000;
    // Request hooks are given a full axios config, as in v2, which the short path does not build.
    const shortPath = this.transport.prepared === true && !this.hooked;
    const call = new Call(
      // Only the rate limiter counts per resource.
      !this.config.rateLimiter ? '' : req.url ? 'external' : resourceOfPath(req.path),
      policy,
      req.idempotent !== false,
      options.signal,
      source,
      stream,
      headers,
      data,
      attemptMillis,
      shortPath,
      attemptMillis,
      deadline,
      options.doNotRetryTimeouts !== true,
    );
    if (deadline !== Infinity) call.timeoutMillis = attemptTimeout(call, this.config.now());
    call.upload = upload;
    if (options.onDownloadProgress) call.download = progressReporter(options.onDownloadProgress);
    const target = req.url ?? this.config.baseUrl + req.path;
    const axiosConfig: CallConfig = shortPath
      ? { method: req.method, url: target + queryString(req.query), adapter: this.transport.config.adapter, call }
      : this.hooked
        ? this.hookedConfig(req, target, call)
        : this.axiosConfig(req.method, target + queryString(req.query), call);
    try {
      const limiter = this.config.rateLimiter;
      if (limiter) call.sentAt = await limiter.acquire(call.resource, options.signal);
      const response = await this.axios.request(axiosConfig);
      limiter?.record(call.resource, false);
      this.config.retryBudget?.succeeded(call.budgetSpent);
      const bytes = stream ? EMPTY : toBytes(response.data);
      call.upload?.finish();
      // A streamed answer is counted as it is read, up to its end.
      if (!stream) call.download?.finish(bytes.byteLength);
      const invalid = (type: string, message: string) =>
        new ApifyApiError({
          method: req.method,
          path: redact(req.path ?? pathOfUrl(req.url ?? ''), [this.config.token()]),
          clientMethod: options.clientMethod,
          attempt: call.attempt,
          statusCode: response.status,
          type,
          serverMessage: message,
        });
      const responseHeaders = response.headers;
      return {
        status: response.status,
        header: (name) => headerOf(responseHeaders, name),
        bytes,
        stream: stream ? response.data : undefined,
        data: <T>() => parseEnvelope<T>(bytes, invalid),
        invalid,
      };
    } catch (error) {
      throw await this.toClientError(error, req, options.signal, call);
    }
  }

  /** A full axios config, for axios's own adapters (or any other). */
  private axiosConfig(method: HttpMethod, url: string, call: Call): CallConfig {
    const headers: Record<string, string | false> = { ...call.headers };
    // `false` keeps axios from labelling an empty POST or PUT as a form.
    if (call.data === undefined && (method === 'POST' || method === 'PUT')) headers['Content-Type'] = false;
    const config: CallConfig = Object.assign(
      {
        method,
        url,
        headers,
        timeout: call.timeoutMillis,
        responseType: call.stream ? 'stream' : 'arraybuffer',
        // Only 2xx is a success; everything else goes through the retry hooks and `toClientError`.
        validateStatus: isSuccess,
        call,
      } satisfies CallConfig,
      this.transport.config,
    );
    if (call.data !== undefined) config.data = call.data;
    if (call.signal) config.signal = call.signal;
    // axios's adapters count in events of their own; only their byte counts are used.
    const { upload, download } = call;
    if (upload) {
      config.onUploadProgress = (event) => upload.report(event.loaded);
      // A stream body stays with the platform's adapter: the upload one takes bytes only.
      if (!call.source) Object.assign(config, this.transport.uploadConfig);
    }
    if (download) config.onDownloadProgress = (event) => download.report(event.loaded, event.total ?? undefined);
    return config;
  }

  /**
   * The config request hooks get: the query as `params`, as v2 gives it to them. Each retry starts
   * from a new one, so a hook's change to one attempt is not applied again on top of itself.
   */
  private hookedConfig(req: HttpRequest, target: string, call: Call): CallConfig {
    const config = this.axiosConfig(req.method, target, call);
    config.params = { ...req.query };
    call.fresh = () => this.hookedConfig(req, target, call);
    return config;
  }

  /** Converts whatever axios threw into the client's error, once, with secrets removed. */
  private async toClientError(
    error: unknown,
    req: HttpRequest,
    signal: AbortSignal | undefined,
    call: Call,
  ): Promise<unknown> {
    if (signal?.aborted) return abortReason(signal);
    if (!axios.isAxiosError(error)) return error;
    const attempt = call.attempt;
    const budget = call.budgetExhausted ? { retryBudgetExhausted: true as const } : {};
    const secrets = [this.config.token()];
    const method = req.method;
    const path = redact(req.path ?? pathOfUrl(req.url ?? ''), secrets);
    const response = error.response;
    const cause = sanitize(error, secrets);

    if (response && response.status >= 300) {
      let bytes: Uint8Array;
      try {
        bytes =
          req.responseType === 'stream'
            ? await platform.readStream(response.data, MAX_ERROR_BODY_BYTES)
            : toBytes(response.data);
      } catch {
        bytes = EMPTY;
      }
      const { type, message, data } = parseErrorBody(bytes);
      return new ApifyApiError(
        {
          method,
          path,
          clientMethod: req.call?.clientMethod,
          data,
          attempt,
          ...budget,
          statusCode: response.status,
          type: type ?? 'unknown-error',
          serverMessage: redact(message ?? `Request failed with status code ${response.status}`, secrets),
        },
        cause,
      );
    }
    const timeout = isTimeout(error);
    const hint = timeout ? undefined : platform.networkHint(req.url ?? this.config.baseUrl);
    const detail = redact(error.message || String(error.code ?? 'request failed'), secrets);
    return new ApifyNetworkError(
      {
        method,
        path,
        attempt,
        ...budget,
        type: timeout ? 'timeout' : 'network-error',
        code: error.code,
        detail: hint ? `${detail}; ${hint}` : detail,
      },
      cause,
    );
  }
}
