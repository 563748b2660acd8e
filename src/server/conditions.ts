/**
 * The `If-Match` / `If-None-Match` headers of a record PUT or DELETE as storage conditions
 * (RFC 9110 section 13.1), and the header by which the server says it honours them.
 */
import type { IncomingMessage } from 'node:http';

import { CONDITIONAL_WRITES_FEATURE, FEATURES_HEADER } from '../rules.js';
import type { EtagCondition, WriteConditions } from '../storage/types.js';
import { invalidInput } from './errors.js';

/** Sent with every API response, so a client knows its conditions are honoured, not ignored. */
export const FEATURE_PAIRS: readonly string[] = [FEATURES_HEADER, CONDITIONAL_WRITES_FEATURE];

/** An entity tag, strong or weak, as RFC 9110 spells it. */
const ENTITY_TAG = /^(W\/)?"[\x21\x23-\x7e\x80-\xff]*"$/;

/** The conditions of a write request; `undefined` when it has none. Malformed headers are a 400. */
export function requestConditions(req: IncomingMessage): WriteConditions | undefined {
  const ifMatch = parseHeader(req.headers['if-match'], 'If-Match');
  const ifNoneMatch = parseHeader(req.headers['if-none-match'], 'If-None-Match');
  if (ifMatch === undefined && ifNoneMatch === undefined) return undefined;
  return { ifMatch, ifNoneMatch };
}

function parseHeader(value: string | undefined, name: string): EtagCondition | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (text === '*') return '*';
  // Entity tags hold no commas here (ours are hex digests), so a list splits at commas.
  const tags = text.split(',').map((tag) => tag.trim()).filter((tag) => tag !== '');
  if (tags.length === 0 || !tags.every((tag) => ENTITY_TAG.test(tag))) {
    throw invalidInput(`${name} must be "*" or a list of entity tags such as "\\"5d41402abc4b2a76b9719d911017c592\\"" (quotes included).`);
  }
  return tags;
}
