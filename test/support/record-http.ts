/**
 * Record requests straight over HTTP (fetch), for histories: each answer is checked, and a
 * read gives the body and Content-Type together, so a history sees both.
 */

const TIMEOUT_MILLIS = 15_000;

function recordUrl(base: string, storeId: string, key: string): string {
  return `${base}/v2/key-value-stores/${encodeURIComponent(storeId)}/records/${encodeURIComponent(key)}`;
}

/** Creates (or gets) the named store; its id. */
export async function storeNamed(base: string, name: string): Promise<string> {
  const res = await fetch(`${base}/v2/key-value-stores?name=${encodeURIComponent(name)}`, { method: 'POST' });
  if (res.status !== 200 && res.status !== 201) throw new Error(`create store ${name}: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { data: { id: string } }).data.id;
}

/** Rejects unless the record was stored (201). */
export async function putRecord(base: string, storeId: string, key: string, body: string, contentType: string): Promise<void> {
  const res = await fetch(recordUrl(base, storeId, key), {
    method: 'PUT',
    body,
    headers: { 'content-type': contentType },
    signal: AbortSignal.timeout(TIMEOUT_MILLIS),
  });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`PUT ${key}: ${res.status} ${text}`);
}

/** `body|content-type`, or `null` for a 404; rejects on anything else. */
export async function getRecord(base: string, storeId: string, key: string): Promise<string | null> {
  const res = await fetch(recordUrl(base, storeId, key), { signal: AbortSignal.timeout(TIMEOUT_MILLIS) });
  const text = await res.text();
  if (res.status === 404) return null;
  if (res.status !== 200) throw new Error(`GET ${key}: ${res.status} ${text}`);
  return `${text}|${res.headers.get('content-type')}`;
}

/** Rejects unless the delete was done (204). */
export async function deleteRecord(base: string, storeId: string, key: string): Promise<void> {
  const res = await fetch(recordUrl(base, storeId, key), { method: 'DELETE', signal: AbortSignal.timeout(TIMEOUT_MILLIS) });
  const text = await res.text();
  if (res.status !== 204) throw new Error(`DELETE ${key}: ${res.status} ${text}`);
}
