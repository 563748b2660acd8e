/**
 * How push and pull map files to records, so that a folder pushed and pulled again comes back
 * byte for byte with the same names and content types:
 *
 * - push: the key is the file name, the content type comes from its extension
 *   (`photo.png` -> key `photo.png`, `image/png`; no or unknown extension -> `application/octet-stream`).
 * - pull: a record whose key already implies its content type that way is written under its key
 *   (`photo.png`). Any other record gets `~.EXT` appended, EXT from its content type
 *   (key `INPUT`, JSON -> `INPUT~.json`; key `notes.txt` stored as JSON -> `notes.txt~.json`).
 * - push reads `NAME~.EXT` back as key `NAME` with the content type of EXT. `~` can never occur in a
 *   key, so the marker is unambiguous.
 *
 * Content types round-trip as the extension table spells them (`text/plain` comes back as
 * `text/plain; charset=utf-8`); a type with no known extension comes back as `application/octet-stream`.
 */
import mime from 'mime-types';

import { isValidKey } from '../sdk/validation.js';

export const DEFAULT_CONTENT_TYPE = 'application/octet-stream';
const MARKER = '~';
const MARKED_NAME = /^(.+)~\.([A-Za-z0-9]{1,16})$/;
const SAFE_EXTENSION = /^[a-z0-9]{1,16}$/;

/** The extension of a name (`a.tar.gz` -> `gz`), or null; a leading dot (`.env`) is not one. */
export function extensionOf(name: string): string | null {
  const dot = name.lastIndexOf('.');
  if (dot <= 0 || dot === name.length - 1) return null;
  return name.slice(dot + 1);
}

/** The content type push gives a file of this name. */
export function contentTypeForName(name: string): string {
  const ext = extensionOf(name);
  return (ext && mime.contentType(ext.toLowerCase())) || DEFAULT_CONTENT_TYPE;
}

/** The extension pull gives a record of this content type; unknown -> `bin`. */
export function extensionForContentType(contentType: string): string {
  const ext = mime.extension(contentType);
  return ext && SAFE_EXTENSION.test(ext) ? ext : 'bin';
}

/** Compares content types ignoring case and spaces (`a/b;charset=UTF-8` = `a/b; charset=utf-8`). */
export function sameContentType(a: string, b: string): boolean {
  const norm = (type: string) => type.toLowerCase().replace(/\s+/g, '');
  return norm(a) === norm(b);
}

/** The file name pull writes a record to. */
export function fileNameForRecord(key: string, contentType: string): string {
  // `.` and `..` are valid keys but can never be file names.
  if (key !== '.' && key !== '..' && sameContentType(contentTypeForName(key), contentType)) return key;
  return `${key}${MARKER}.${extensionForContentType(contentType)}`;
}

export type FileMapping = { key: string; contentType: string } | { error: string };

/** The record push makes of a file name, or why it cannot. */
export function recordForFileName(fileName: string): FileMapping {
  const marked = MARKED_NAME.exec(fileName);
  const key = marked ? marked[1]! : fileName;
  if (!isValidKey(key)) {
    return {
      error: fileName.includes(MARKER) && !marked
        ? `"~" is only allowed as the "~.EXT" suffix pull writes`
        : `not a valid record key (1-256 characters of a-z, A-Z, 0-9 and !-_.'())`,
    };
  }
  const contentType = marked ? contentTypeForName(`x.${marked[2]!}`) : contentTypeForName(fileName);
  return { key, contentType };
}
