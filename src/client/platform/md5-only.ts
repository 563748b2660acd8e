/**
 * What the browser's integrity add-on needs of the platform: an MD5 (its build puts this
 * module in place of `platform/node.ts`, which `integrity.ts` imports).
 */
import { md5Hex } from '../md5.js';
import type { Platform } from './types.js';

export const platform: Pick<Platform, 'md5Hex'> = { md5Hex };
