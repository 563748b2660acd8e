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
