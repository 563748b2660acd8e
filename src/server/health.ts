/**
 * Probes for load balancers and Kubernetes: `GET /health/live` (the process answers) and
 * `GET /health/ready` (the storage answers and the server is not shutting down). Neither needs
 * a token, and both stay cheap under a probe every second: one storage check at a time, and its
 * answer reused for a short while.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KeyValueStorage } from '../storage/types.js';

export const LIVE_PATH = '/health/live';
export const READY_PATH = '/health/ready';

/** A storage check's answer is reused this long. */
const CHECK_REUSE_MILLIS = 1000;
/** A storage check slower than this counts as a failure (the probe must not hang). */
const CHECK_TIMEOUT_MILLIS = 3000;

export type NotReadyReason = 'draining' | 'storage-unavailable';

export class Health {
  /** Set when the server starts shutting down: from then on it is not ready. */
  draining = false;
  private checked: { at: number; ok: boolean } | null = null;
  private running: Promise<boolean> | null = null;

  constructor(
    private readonly storage: KeyValueStorage,
    private readonly warn: (message: string) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** `null` when ready, else why not. */
  async notReadyReason(): Promise<NotReadyReason | null> {
    if (this.draining) return 'draining';
    return (await this.storageOk()) ? null : 'storage-unavailable';
  }

  private storageOk(): Promise<boolean> {
    if (this.checked && this.now() - this.checked.at < CHECK_REUSE_MILLIS) return Promise.resolve(this.checked.ok);
    this.running ??= this.checkStorage().then((failure) => {
      // Said once when it starts failing, not at every probe.
      if (failure && this.checked?.ok !== false) this.warn(`Not ready: the storage is not available (${failure}).`);
      this.checked = { at: this.now(), ok: failure === null };
      this.running = null;
      return failure === null;
    });
    return this.running;
  }

  /** `null` when the storage answers, else the failure's message (it names the folder or bucket, never a credential). */
  private async checkStorage(): Promise<string | null> {
    if (!this.storage.checkReady) return null;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MILLIS} ms`)), CHECK_TIMEOUT_MILLIS);
    });
    try {
      await Promise.race([this.storage.checkReady(), timeout]);
      return null;
    } catch (err) {
      return err instanceof Error ? err.message : String(err);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** True when `path` is a probe's; answers it. */
export async function answerHealth(health: Health, req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean> {
  if (path !== LIVE_PATH && path !== READY_PATH) return false;
  const method = req.method ?? 'GET';
  if (method !== 'GET' && method !== 'HEAD') {
    send(res, 405, { status: 'method-not-allowed' }, { Allow: 'GET, HEAD' });
    return true;
  }
  if (path === LIVE_PATH) {
    send(res, 200, { status: 'ok' });
    return true;
  }
  const reason = await health.notReadyReason();
  if (reason) send(res, 503, { status: 'not-ready', reason }, reason === 'draining' ? { Connection: 'close' } : {});
  else send(res, 200, { status: 'ok' });
  return true;
}

function send(res: ServerResponse, status: number, body: object, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
  });
  res.end(res.req?.method === 'HEAD' ? undefined : text);
}
