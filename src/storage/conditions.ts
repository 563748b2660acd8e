/**
 * HTTP preconditions on record writes and deletes (RFC 9110, sections 13.1.1 and 13.1.2),
 * evaluated against the record's current ETag. Each backend calls `checkConditions` at the
 * instant its write takes effect (the key's turn on a folder; on S3 the conditional PUT then
 * makes sure nothing changed in between).
 */
import { StorageError } from './errors.js';
import type { EtagCondition, WriteConditions } from './types.js';

/** The tag without its weakness prefix: what weak comparison compares. */
const opaque = (tag: string) => tag.replace(/^W\//, '');
const isWeak = (tag: string) => tag.startsWith('W/');

function listed(condition: EtagCondition, etag: string, weak: boolean): boolean {
  if (condition === '*') return true;
  return condition.some((tag) => (weak ? opaque(tag) === opaque(etag) : !isWeak(tag) && !isWeak(etag) && tag === etag));
}

/** The condition that fails for a record whose ETag is `etag` (`null`: no such record), if any. */
function failing(conditions: WriteConditions, etag: string | null): 'ifMatch' | 'ifNoneMatch' | null {
  const { ifMatch, ifNoneMatch } = conditions;
  if (ifMatch !== undefined && (etag === null || !listed(ifMatch, etag, false))) return 'ifMatch';
  if (ifNoneMatch !== undefined && etag !== null && listed(ifNoneMatch, etag, true)) return 'ifNoneMatch';
  return null;
}

/** Whether the conditions hold for a record whose ETag is `etag` (`null`: no such record). */
export function conditionsHold(conditions: WriteConditions, etag: string | null): boolean {
  return failing(conditions, etag) === null;
}

/** True when there is any condition to check. */
export function hasConditions(conditions: WriteConditions | undefined): conditions is WriteConditions {
  return conditions !== undefined && (conditions.ifMatch !== undefined || conditions.ifNoneMatch !== undefined);
}

/** Throws `precondition-failed` unless the conditions hold for the record's current ETag. */
export function checkConditions(conditions: WriteConditions | undefined, key: string, etag: string | null): void {
  if (!hasConditions(conditions)) return;
  const failed = failing(conditions, etag);
  if (failed) throw preconditionFailed(key, failed, conditions[failed]!, etag);
}

function preconditionFailed(key: string, header: 'ifMatch' | 'ifNoneMatch', condition: EtagCondition, etag: string | null): StorageError {
  const tags = condition === '*' ? '' : condition.join(' or ');
  const wanted =
    header === 'ifMatch'
      ? condition === '*' ? 'to exist (If-Match: *)' : `to have ETag ${tags} (If-Match)`
      : condition === '*' ? 'not to exist (If-None-Match: *)' : `not to have ETag ${tags} (If-None-Match)`;
  const found = etag === null ? 'there is no such record' : `its ETag is ${etag}`;
  return new StorageError('precondition-failed', `Record "${key}" was expected ${wanted}, but ${found}.`);
}
