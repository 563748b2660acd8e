/**
 * The server's signing secret in a storage folder. It lives with the folder backend
 * (`storage/fs/signing-secret.ts`), which the server reaches through the storage's
 * `loadOrCreateSigningSecret`; re-exported here for callers that name the file.
 */
export { loadOrCreateSecret, secretFilePath } from '../storage/fs/signing-secret.js';
export { SECRET_DIR_NAME, SECRET_FILE_NAME } from '../storage/signing-secret.js';
