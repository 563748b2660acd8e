/**
 * Reading a store folder from disk. Crash recovery of its temp folder lives with the write
 * protocol it undoes (`record-recovery.ts`); the record index is built by `record-scan.ts`.
 */
export { recoverTempFolder, TEMP_DATA_SUFFIX, TEMP_META_SUFFIX } from './record-recovery.js';
export { RecordEntry as IndexEntry, dataFileOf } from './record-entry.js';
