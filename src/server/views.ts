/** API shapes of storage objects, field for field as the contract's schemas. */
import type { StoreInfo } from '../storage/types.js';
import type { UrlSigner } from './signing.js';

export function storeUrl(base: string, storeId: string): string {
  return `${base}/v2/key-value-stores/${encodeURIComponent(storeId)}`;
}

export function recordUrl(base: string, storeId: string, key: string): string {
  return `${storeUrl(base, storeId)}/records/${encodeURIComponent(key)}`;
}

export interface ViewContext {
  base: string;
  signer: UrlSigner;
  /** Owners see the signing key and get signed public URLs. */
  canWrite: boolean;
}

export function storeView(store: StoreInfo, ctx: ViewContext) {
  const url = storeUrl(ctx.base, store.id);
  const signature = ctx.canWrite ? `?signature=${ctx.signer.storeContentSignature(store.id)}` : '';
  return {
    id: store.id,
    name: store.name,
    userId: store.userId,
    username: store.username,
    createdAt: store.createdAt.toISOString(),
    modifiedAt: store.modifiedAt.toISOString(),
    accessedAt: store.accessedAt.toISOString(),
    actId: null,
    actRunId: null,
    // There is no web console; the store's own API URL is the closest working link.
    consoleUrl: url,
    keysPublicUrl: `${url}/keys${signature}`,
    recordsPublicUrl: `${url}/records${signature}`,
    urlSigningSecretKey: ctx.canWrite ? ctx.signer.storeSecretKey(store.id) : null,
    generalAccess: store.generalAccess,
    stats: {
      readCount: store.stats.readCount,
      writeCount: store.stats.writeCount,
      deleteCount: store.stats.deleteCount,
      listCount: store.stats.listCount,
      s3StorageBytes: store.stats.storageBytes,
      storageBytes: store.stats.storageBytes,
    },
  };
}

export function keyItemView(storeId: string, item: { key: string; size: number }, ctx: ViewContext) {
  const url = recordUrl(ctx.base, storeId, item.key);
  return {
    key: item.key,
    size: item.size,
    recordPublicUrl: ctx.canWrite ? `${url}?signature=${ctx.signer.recordSignature(storeId, item.key)}` : url,
  };
}

/**
 * The JSON text of a keys page's `items`, the same as JSON.stringify of `keyItemView` for each
 * item but without building the objects: the URL prefix is encoded once, and what varies per
 * item (encodeURIComponent of a key, a base-62 signature, a number) never needs JSON escaping.
 */
export function keyItemsJson(storeId: string, items: readonly { key: string; size: number }[], ctx: ViewContext): string {
  const prefix = JSON.stringify(`${storeUrl(ctx.base, storeId)}/records/`).slice(0, -1);
  let text = '[';
  for (let i = 0; i < items.length; i++) {
    const { key, size } = items[i]!;
    const signature = ctx.canWrite ? `?signature=${ctx.signer.recordSignature(storeId, key)}` : '';
    if (i > 0) text += ',';
    text += `{"key":${JSON.stringify(key)},"size":${JSON.stringify(size)},"recordPublicUrl":${prefix}${encodeURIComponent(key)}${signature}"}`;
  }
  return text + ']';
}
