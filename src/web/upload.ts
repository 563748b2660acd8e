/**
 * Uploading a file as a record, with progress. Bodies over the API's payload limit (9 MiB) go
 * to a direct-upload URL on this server (`GET .../records/{key}/direct-upload-url?via=server`;
 * on S3 storage the server streams it into the bucket); so does a body the server refuses as too
 * large (a server started with a lower limit). XMLHttpRequest, because fetch reports no upload
 * progress.
 */
import { ApiProblem, recordPath, type Api } from './api.js';
import { MAX_PAYLOAD_BYTES } from '../rules.js';

export type Progress = (sent: number, total: number) => void;

interface Answer {
  status: number;
  text: string;
}

/** One PUT with upload progress; a network failure becomes an ApiProblem like the page's other calls. */
function put(url: string, body: Blob, headers: Record<string, string>, onProgress: Progress): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', url);
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (event) => onProgress(event.loaded, event.lengthComputable ? event.total : body.size);
    xhr.onload = () => resolve({ status: xhr.status, text: xhr.responseText });
    xhr.onerror = () => reject(new ApiProblem(0, 'network-error', 'The upload did not reach the server (the connection failed or the browser blocked it).'));
    xhr.send(body);
  });
}

function problemOf(answer: Answer): ApiProblem {
  let type = `http-${answer.status}`;
  let message = `The server answered HTTP ${answer.status}.`;
  try {
    const parsed = JSON.parse(answer.text) as { error?: { type?: string; message?: string } };
    if (parsed.error?.type) type = parsed.error.type;
    if (parsed.error?.message) message = parsed.error.message;
  } catch {
    // Not the API's error body (an S3 error is XML): the status says enough.
  }
  return new ApiProblem(answer.status, type, message);
}

/** Stores `file` as the record; says how it went (`direct`: through the direct-upload URL). */
export async function uploadRecord(api: Api, storeId: string, key: string, file: Blob, contentType: string, onProgress: Progress): Promise<{ direct: boolean }> {
  if (file.size <= MAX_PAYLOAD_BYTES) {
    const headers: Record<string, string> = { 'Content-Type': contentType };
    if (api.token) headers.Authorization = `Bearer ${api.token}`;
    const answer = await put(recordPath(storeId, key), file, headers, onProgress);
    if (answer.status >= 200 && answer.status < 300) return { direct: false };
    const problem = problemOf(answer);
    if (problem.status !== 413) throw problem;
  }
  // This server's own upload route (`via=server`), never a bucket's presigned URL: the page may
  // connect to its own origin only. The signed URL carries its own permission: no token goes with it.
  const { data } = await api.call<{ signedUrl: string }>('GET', `${recordPath(storeId, key)}/direct-upload-url?via=server`);
  const answer = await put(data.signedUrl, file, { 'Content-Type': contentType }, onProgress);
  if (answer.status < 200 || answer.status >= 300) throw problemOf(answer);
  return { direct: true };
}
