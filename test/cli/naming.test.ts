import { describe, expect, it } from 'vitest';

import { contentTypeForName, fileNameForRecord, recordForFileName } from '../../src/cli/naming.js';

describe('push/pull file naming', () => {
  it.each([
    ['photo.png', 'photo.png', 'image/png'],
    ['data.json', 'data.json', 'application/json; charset=utf-8'],
    ['notes.TXT', 'notes.TXT', 'text/plain; charset=utf-8'],
    ['README', 'README', 'application/octet-stream'],
    ['.env', '.env', 'application/octet-stream'],
    ['archive.unknownext', 'archive.unknownext', 'application/octet-stream'],
    ['INPUT~.json', 'INPUT', 'application/json; charset=utf-8'],
    ['notes.txt~.json', 'notes.txt', 'application/json; charset=utf-8'],
    ['shot~.png', 'shot', 'image/png'],
  ])('push reads file %j as key %j with type %j', (file, key, contentType) => {
    expect(recordForFileName(file)).toEqual({ key, contentType });
  });

  it.each([['bad name.txt'], ['ümlaut.txt'], ['a~b.txt'], ['~.json'], ['x'.repeat(257)]])(
    'push refuses %j with a reason',
    (file) => {
      const mapping = recordForFileName(file);
      expect('error' in mapping && mapping.error.length > 0).toBe(true);
    },
  );

  it.each([
    ['photo.png', 'image/png', 'photo.png'],
    ['data.json', 'application/json;charset=UTF-8', 'data.json'],
    ['INPUT', 'application/json; charset=utf-8', 'INPUT~.json'],
    ['INPUT', 'application/octet-stream', 'INPUT'],
    ['notes.txt', 'application/json', 'notes.txt~.json'],
    ['shot', 'image/png', 'shot~.png'],
    ['weird', 'application/x-nothing-known', 'weird~.bin'],
    ['.', 'text/plain', '.~.txt'],
    ['..', 'application/octet-stream', '..~.bin'],
  ])('pull writes key %j of type %j as %j', (key, contentType, file) => {
    expect(fileNameForRecord(key, contentType)).toBe(file);
  });

  it('round-trips key and content type through pull then push', () => {
    const keys = ['INPUT', 'OUTPUT.json', 'a.b.c', "x(1)'!-_", '...', 'photo.png', 'page.html', 'k.JSON'];
    const types = [
      'application/json; charset=utf-8',
      'text/plain; charset=utf-8',
      'text/html; charset=utf-8',
      'image/png',
      'image/jpeg',
      'application/pdf',
      'application/octet-stream',
    ];
    for (const key of keys) {
      for (const type of types) {
        const file = fileNameForRecord(key, type);
        expect(file === '.' || file === '..').toBe(false);
        const back = recordForFileName(file);
        expect(back).toEqual({ key, contentType: expect.any(String) });
        expect((back as { contentType: string }).contentType.replace(/\s/g, '').toLowerCase()).toBe(
          type.replace(/\s/g, '').toLowerCase(),
        );
      }
    }
  });

  it('gives the content type push uses for a file name', () => {
    expect(contentTypeForName('a.tar.gz')).toBe('application/gzip');
    expect(contentTypeForName('noext')).toBe('application/octet-stream');
  });
});
