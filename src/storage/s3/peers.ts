/**
 * The AWS SDK packages behind the S3 backend are optional peer dependencies: only users of an
 * `s3://` storage install them. They are imported here, on first use, and a missing one turns
 * into one clear error naming what to install. The SDK's request signer,
 * `@smithy/signature-v4`, comes with `@aws-sdk/client-s3` (it is declared an optional peer too,
 * so package managers that isolate dependencies let us import it).
 */
import type * as S3 from '@aws-sdk/client-s3';
import type * as Presigner from '@aws-sdk/s3-request-presigner';
import type * as Signer from '@smithy/signature-v4';

export type S3Sdk = typeof S3;
export type S3Presigner = typeof Presigner;
export type S3Signer = typeof Signer;

/** The packages an `s3://` storage needs, as `npm install` takes them. */
export const S3_PEER_PACKAGES = ['@aws-sdk/client-s3', '@aws-sdk/s3-request-presigner'] as const;

export const S3_PEERS_MISSING_MESSAGE =
  `S3 storage needs the AWS SDK, which is not installed: run "npm install ${S3_PEER_PACKAGES.join(' ')}".`;

/** Thrown when an `s3://` storage is asked for without the AWS SDK installed. */
export class S3PackagesMissingError extends Error {
  override readonly name = 'S3PackagesMissingError';
  readonly packages = S3_PEER_PACKAGES;
  constructor(cause: unknown) {
    super(S3_PEERS_MISSING_MESSAGE, { cause });
  }
}

/** True when `error` says that `name` itself (not something it imports) could not be found. */
export function isMissingPackage(error: unknown, name: string): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') return false;
  return typeof message === 'string' && (message.includes(`'${name}'`) || message.includes(`"${name}"`));
}

async function importPeer<T>(name: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    throw isMissingPackage(error, name) ? new S3PackagesMissingError(error) : error;
  }
}

let sdkLoading: Promise<S3Sdk> | undefined;
let presignerLoading: Promise<S3Presigner> | undefined;
let signerLoading: Promise<S3Signer> | undefined;

export function loadS3Sdk(): Promise<S3Sdk> {
  sdkLoading ??= importPeer('@aws-sdk/client-s3', () => import('@aws-sdk/client-s3'));
  // A failed load is tried again next time (the package may be installed meanwhile).
  sdkLoading.catch(() => (sdkLoading = undefined));
  return sdkLoading;
}

export function loadS3Presigner(): Promise<S3Presigner> {
  presignerLoading ??= importPeer('@aws-sdk/s3-request-presigner', () => import('@aws-sdk/s3-request-presigner'));
  presignerLoading.catch(() => (presignerLoading = undefined));
  return presignerLoading;
}

export function loadS3Signer(): Promise<S3Signer> {
  signerLoading ??= importPeer('@smithy/signature-v4', () => import('@smithy/signature-v4'));
  signerLoading.catch(() => (signerLoading = undefined));
  return signerLoading;
}

/** Loads the packages, so a server asked for S3 storage fails at start, not at its first record or upload URL. */
export async function loadS3Peers(): Promise<{ sdk: S3Sdk; presigner: S3Presigner }> {
  const [sdk, presigner] = await Promise.all([loadS3Sdk(), loadS3Presigner(), loadS3Signer()]);
  return { sdk, presigner };
}
