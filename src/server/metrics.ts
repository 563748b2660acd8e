/**
 * Prometheus metrics (`GET /metrics`, on with the `metrics` option / `--metrics`): requests,
 * latency and bytes by route; storage operations by backend; open connections; S3 requests,
 * errors and retries; the consistency-lag simulation's counts. One registry per server, so
 * several servers in one process keep their own counts. prom-client takes a while to load,
 * so it is loaded only when metrics are on.
 */
import type { Server, ServerResponse } from 'node:http';
import type * as Prom from 'prom-client';
import { LaggingStorage } from '../storage/lagging-storage.js';
import { StorageService } from '../storage/service.js';
import type { KeyValueStorage } from '../storage/types.js';
import { MeteredStorage } from './metered-storage.js';

const SECONDS_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Counts a storage engine keeps itself, read at each scrape. */
interface EngineCounts {
  s3?: { requests: number; errors: number; retries: number };
  lag?: { lagsStarted: number; staleReads: number };
}

export interface RequestObservation {
  route: string;
  method: string;
  status: number;
  seconds: number;
  bytesIn: number;
  bytesOut: number;
}

export class ServerMetrics {
  readonly registry: Prom.Registry;
  readonly backend: string;
  private readonly requests: Prom.Counter<'route' | 'method' | 'status'>;
  private readonly duration: Prom.Histogram<'route' | 'method'>;
  private readonly bytesIn: Prom.Counter<'route'>;
  private readonly bytesOut: Prom.Counter<'route'>;
  private readonly storageDuration: Prom.Histogram<'backend' | 'operation'>;
  private readonly storageErrors: Prom.Counter<'backend' | 'operation' | 'code'>;
  private server: Server | undefined;

  /** The metrics of a server over `storage`; prom-client is loaded now (not when the server module is). */
  static async create(storage: KeyValueStorage): Promise<ServerMetrics> {
    return new ServerMetrics(await import('prom-client'), storage);
  }

  private constructor(
    prom: typeof Prom,
    private readonly storage: KeyValueStorage,
  ) {
    const { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } = prom;
    this.registry = new Registry();
    const registers = [this.registry];
    this.backend = backendName(storage);
    collectDefaultMetrics({ register: this.registry });
    this.requests = new Counter({
      name: 'apify_kv_http_requests_total',
      help: 'HTTP requests answered, by route template, method and status.',
      labelNames: ['route', 'method', 'status'],
      registers,
    });
    this.duration = new Histogram({
      name: 'apify_kv_http_request_duration_seconds',
      help: 'Time from a request to the end of its answer, by route template and method.',
      labelNames: ['route', 'method'],
      buckets: SECONDS_BUCKETS,
      registers,
    });
    this.bytesIn = new Counter({
      name: 'apify_kv_http_request_body_bytes_total',
      help: 'Request body bytes received (as sent, before decoding), by route template.',
      labelNames: ['route'],
      registers,
    });
    this.bytesOut = new Counter({
      name: 'apify_kv_http_response_body_bytes_total',
      help: 'Response body bytes sent, by route template.',
      labelNames: ['route'],
      registers,
    });
    this.storageDuration = new Histogram({
      name: 'apify_kv_storage_operation_duration_seconds',
      help: 'Time of storage operations (a record read counts until its metadata is known), by backend and operation.',
      labelNames: ['backend', 'operation'],
      buckets: SECONDS_BUCKETS,
      registers,
    });
    this.storageErrors = new Counter({
      name: 'apify_kv_storage_errors_total',
      help: 'Storage operations that failed, by backend, operation and error code.',
      labelNames: ['backend', 'operation', 'code'],
      registers,
    });
    const metrics = this;
    new Gauge({
      name: 'apify_kv_http_open_connections',
      help: 'Client connections open now.',
      registers,
      async collect() {
        this.set(await metrics.openConnections());
      },
    });
    const counts = () => engineCounts(this.storage);
    const external = (name: string, help: string, read: (c: EngineCounts) => number | undefined) =>
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(read(counts()) ?? 0);
        },
      });
    if (this.backend === 's3') {
      external('apify_kv_s3_requests_total', 'S3 calls made (each with its retries).', (c) => c.s3?.requests);
      external('apify_kv_s3_request_errors_total', 'S3 calls that failed for good (not counting not-found and precondition answers).', (c) => c.s3?.errors);
      external('apify_kv_s3_request_retries_total', 'S3 attempts beyond the first.', (c) => c.s3?.retries);
    }
    if (storage instanceof LaggingStorage) {
      external('apify_kv_consistency_lag_writes_total', 'Writes after which the lag simulation keeps serving the previous state.', (c) => c.lag?.lagsStarted);
      external('apify_kv_consistency_lag_stale_reads_total', 'Record reads the lag simulation answered with a previous state.', (c) => c.lag?.staleReads);
    }
  }

  /** The engine to hand to the handlers: the same one, timing each operation. */
  meter(storage: KeyValueStorage): KeyValueStorage {
    return new MeteredStorage(storage, (operation, seconds, errorCode) => {
      this.storageDuration.observe({ backend: this.backend, operation }, seconds);
      if (errorCode !== undefined) this.storageErrors.inc({ backend: this.backend, operation, code: errorCode });
    });
  }

  /** Counts this server's open connections at each scrape. */
  watch(server: Server): void {
    this.server = server;
  }

  observeRequest(o: RequestObservation): void {
    this.requests.inc({ route: o.route, method: o.method, status: String(o.status) });
    this.duration.observe({ route: o.route, method: o.method }, o.seconds);
    if (o.bytesIn > 0) this.bytesIn.inc({ route: o.route }, o.bytesIn);
    if (o.bytesOut > 0) this.bytesOut.inc({ route: o.route }, o.bytesOut);
  }

  /** Sends the current values in the Prometheus text format. */
  async send(res: ServerResponse, headOnly: boolean): Promise<void> {
    const text = await this.registry.metrics();
    if (res.headersSent || res.destroyed) return;
    res.writeHead(200, {
      'Content-Type': this.registry.contentType,
      'Content-Length': Buffer.byteLength(text),
      'Cache-Control': 'no-store',
    });
    res.end(headOnly ? undefined : text);
  }

  private openConnections(): Promise<number> {
    const server = this.server;
    if (!server) return Promise.resolve(0);
    return new Promise((resolve) => server.getConnections((err, count) => resolve(err ? 0 : count)));
  }
}

/** `fs`, `s3`, or `custom` for an engine of the caller's own. */
function backendName(storage: KeyValueStorage): string {
  const engine = storage instanceof LaggingStorage ? storage.inner : storage;
  if (!(engine instanceof StorageService)) return 'custom';
  return engine.backend.kind ?? 'custom';
}

function engineCounts(storage: KeyValueStorage): EngineCounts {
  const lag = storage instanceof LaggingStorage ? storage.counts : undefined;
  const engine = storage instanceof LaggingStorage ? storage.inner : storage;
  const backend = engine instanceof StorageService ? (engine.backend as { requestStats?: EngineCounts['s3'] }) : undefined;
  return { lag, s3: backend?.requestStats };
}
