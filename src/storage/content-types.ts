import mime from 'mime-types';

/** Extension used when the content type maps to none. */
export const FALLBACK_EXTENSION = 'bin';
/** Content type used for a file whose extension maps to none. */
export const FALLBACK_CONTENT_TYPE = 'application/octet-stream';

/** File extensions we produce or accept: plain alphanumerics, so they can never form a path. */
const SAFE_EXTENSION = /^[a-z0-9]{1,16}$/;

/** The file extension for a content type (`text/plain; charset=utf-8` -> `txt`); unknown -> `bin`. */
export function extensionForContentType(contentType: string): string {
  const ext = mime.extension(contentType);
  return ext && SAFE_EXTENSION.test(ext) ? ext : FALLBACK_EXTENSION;
}

/**
 * The content type for a file that came without metadata, from its extension
 * (`json` -> `application/json; charset=utf-8`, as Crawlee reads such files).
 */
export function contentTypeForExtension(ext: string | null): string {
  if (!ext) return FALLBACK_CONTENT_TYPE;
  return mime.contentType(ext.toLowerCase()) || FALLBACK_CONTENT_TYPE;
}
