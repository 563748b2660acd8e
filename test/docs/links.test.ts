/** Links between the README, the guides and the examples point at files (and headings) that exist. */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { ROOT } from '../cli/helpers.js';
import { docFiles } from './code-blocks.js';

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
}

function anchors(file: string): Set<string> {
  const text = readFileSync(path.join(ROOT, file), 'utf8').replace(/^(```|~~~)[\s\S]*?^\1/gm, '');
  return new Set([...text.matchAll(/^#{1,6}\s+(.+)$/gm)].map((match) => slug(match[1]!)));
}

/** Markdown links `[text](target)` outside code blocks and code spans. */
function links(file: string): string[] {
  const text = readFileSync(path.join(ROOT, file), 'utf8')
    .replace(/^(```|~~~)[\s\S]*?^\1/gm, '')
    .replace(/`[^`\n]*`/g, (span) => (span.startsWith('`[') ? span : ''));
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((match) => match[1]!);
}

describe('links in the README and docs/', () => {
  for (const file of docFiles(ROOT)) {
    it(`${file}: every relative link resolves`, () => {
      const broken: string[] = [];
      for (const target of links(file)) {
        if (/^(https?:|mailto:)/.test(target)) continue;
        const [filePart, anchor] = target.split('#') as [string, string | undefined];
        const linked = filePart === '' ? file : path.posix.normalize(path.posix.join(path.posix.dirname(file), filePart));
        if (!existsSync(path.join(ROOT, linked))) {
          broken.push(`${target} (no file ${linked})`);
          continue;
        }
        if (anchor !== undefined && linked.endsWith('.md') && !anchors(linked).has(anchor)) broken.push(`${target} (no heading #${anchor} in ${linked})`);
      }
      expect(broken).toEqual([]);
    });
  }

  it('the README is a short landing page', () => {
    expect(readFileSync(path.join(ROOT, 'README.md')).length).toBeLessThanOrEqual(12 * 1024);
  });
});
