/**
 * A 2xx answer as the resources get it (`HttpResponse`). One object per request, with its
 * methods on the prototype: the request path builds no closures for the header, data and error
 * helpers that most callers never use.
 */
import { ApifyApiError, redact } from './errors.js';
import type { HttpRequest, HttpResponse } from './request-types.js';
import { headerOf, parseEnvelope, pathOfUrl } from './wire.js';

export class Answer implements HttpResponse {
  // Declared, not class fields: the browser bundle keeps class fields as written, and pays for each twice.
  declare readonly status: number;
  declare readonly bytes: Uint8Array;
  declare readonly stream: unknown;
  declare private readonly headers: unknown;
  declare private readonly req: HttpRequest;
  declare private readonly attempt: number;
  /** Gives the token to keep out of error messages, read only when an error is made. */
  declare private readonly client: { token(): string | undefined };

  constructor(status: number, headers: unknown, bytes: Uint8Array, stream: unknown, req: HttpRequest, attempt: number, client: { token(): string | undefined }) {
    this.status = status;
    this.headers = headers;
    this.bytes = bytes;
    this.stream = stream;
    this.req = req;
    this.attempt = attempt;
    this.client = client;
  }

  header(name: string): string | undefined {
    return headerOf(this.headers, name);
  }

  data<T>(): T {
    return parseEnvelope<T>(this.bytes, (type, message) => this.invalid(type, message));
  }

  invalid(type: string, message: string): ApifyApiError {
    const req = this.req;
    return new ApifyApiError({
      method: req.method,
      path: redact(req.path ?? pathOfUrl(req.url ?? ''), [this.client.token()]),
      clientMethod: req.call?.clientMethod,
      attempt: this.attempt,
      statusCode: this.status,
      type,
      serverMessage: message,
    });
  }
}
