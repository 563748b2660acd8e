/**
 * The browser's adapter of an upload whose progress is watched: XMLHttpRequest, as fetch reports
 * upload progress only for a streamed body, which Chromium refuses over HTTP/1.1. It comes in the
 * progress add-on (`browser-progress.ts`) to keep the main bundle within its size budget; the main
 * bundle looks it up under {@link UPLOAD_ADAPTER} and hands it axios's classes, so the add-on
 * carries none of axios. It fails as axios's adapters do, so retries see no difference.
 */
import type { AxiosError, AxiosHeaders, AxiosResponse, CanceledError, InternalAxiosRequestConfig } from 'axios';

/** Where the progress add-on puts {@link xhrUpload}. */
export const UPLOAD_ADAPTER = Symbol.for('apify-kv-client.progress');

/** The axios classes the adapter builds its answers and errors with, from the main bundle. */
export interface AxiosParts {
  AxiosError: typeof AxiosError;
  AxiosHeaders: typeof AxiosHeaders;
  CanceledError: typeof CanceledError;
}

export type UploadAdapter = (config: InternalAxiosRequestConfig, axios: AxiosParts) => Promise<AxiosResponse>;

export const xhrUpload: UploadAdapter = (config, { AxiosError, AxiosHeaders, CanceledError }) =>
  new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    const fail = (code: string, response?: AxiosResponse) => reject(new AxiosError(code, code, config, xhr, response));
    xhr.open(config.method!.toUpperCase(), config.url!);
    for (const [name, value] of Object.entries(config.headers)) if (value !== false && value != null) xhr.setRequestHeader(name, String(value));
    xhr.responseType = 'arraybuffer';
    xhr.timeout = config.timeout!;
    xhr.upload.onprogress = (event) => config.onUploadProgress?.(event as never);
    xhr.onload = () => {
      const response = { status: xhr.status, statusText: '', headers: AxiosHeaders.from(xhr.getAllResponseHeaders()), config, request: xhr, data: xhr.response as ArrayBuffer };
      // The client reads an error's status and body, not the AxiosError's words.
      if (config.validateStatus!(xhr.status)) resolve(response);
      else fail(AxiosError.ERR_BAD_RESPONSE, response);
    };
    xhr.onerror = () => fail(AxiosError.ERR_NETWORK);
    xhr.ontimeout = () => fail(AxiosError.ECONNABORTED);
    (config.signal as AbortSignal | undefined)?.addEventListener('abort', () => {
      xhr.abort();
      reject(new CanceledError(undefined, config, xhr));
    });
    xhr.send((config.data ?? null) as XMLHttpRequestBodyInit | null);
  });
