/**
 * Conditional writes and deletes (`ifMatch`, `ifNoneMatch`): their options as request headers,
 * and whether the server honours them. The platform ignores `If-Match` on a record PUT, so a
 * condition sent there would silently not hold; a server that honours them says so in every API
 * answer (`X-Apify-Kv-Features: conditional-writes`). The client remembers that from any answer
 * it got, and before its first conditional request, when it has seen none yet, asks once with a
 * GET of the store. Against a server that does not say so, the request is not sent.
 */
import { CONDITIONAL_WRITES_FEATURE, FEATURES_HEADER } from '../../rules.js';
import { ApifyArgumentError } from '../http/errors.js';
import type { HttpResponse } from '../http/http-client.js';

/** The conditions a record write or delete may carry. */
export interface ConditionOptions {
  /** Write only over the record with this ETag (as `getRecord` gives it), or any record with `*`. Else 412. */
  ifMatch?: string;
  /** `*`: write only when there is no record yet (create only). Else 412. */
  ifNoneMatch?: '*';
}

export const CONDITION_OPTION_NAMES = ['ifMatch', 'ifNoneMatch'] as const;

/** What the client learned of its server: undefined until an answer told. @internal */
export interface ServerFeatures {
  conditionalWrites?: boolean;
}

/** The request headers of the conditions; undefined when there are none. Bad values throw. */
export function conditionHeaders(options: ConditionOptions): Record<string, string> | undefined {
  const { ifMatch, ifNoneMatch } = options;
  if (ifMatch === undefined && ifNoneMatch === undefined) return undefined;
  const headers: Record<string, string> = {};
  if (ifMatch !== undefined) {
    if (typeof ifMatch !== 'string' || ifMatch === '') throw new ApifyArgumentError('options.ifMatch', 'ifMatch must be an ETag or "*"');
    // An ETag handed over without its quotes is quoted, as the header wants it.
    headers['If-Match'] = ifMatch === '*' || ifMatch.endsWith('"') ? ifMatch : `"${ifMatch}"`;
  }
  if (ifNoneMatch !== undefined) {
    if (ifNoneMatch !== '*') throw new ApifyArgumentError('options.ifNoneMatch', 'ifNoneMatch must be "*"');
    headers['If-None-Match'] = '*';
  }
  return headers;
}

/** Notes what an answer says about conditional writes (any answer of an API server says it). */
export function noteFeatures(features: ServerFeatures, response: HttpResponse | null): void {
  const header = response?.header(FEATURES_HEADER);
  if (header !== undefined) features.conditionalWrites = header.includes(CONDITIONAL_WRITES_FEATURE);
}

/**
 * Resolves when the server honours conditions: known from an earlier answer, else learned from
 * `probe` (one cheap request). Throws a typed error, `conditional-writes-unsupported`, when not.
 */
export async function requireConditionalWrites(features: ServerFeatures, baseUrl: string, probe: () => Promise<HttpResponse | null>): Promise<void> {
  if (features.conditionalWrites === undefined) noteFeatures(features, await probe());
  if (features.conditionalWrites) return;
  features.conditionalWrites = false;
  throw new ApifyArgumentError(
    'options.ifMatch',
    `${baseUrl} does not honour conditional writes (no ${FEATURES_HEADER}: ${CONDITIONAL_WRITES_FEATURE}); nothing was sent`,
    'conditional-writes-unsupported',
  );
}
