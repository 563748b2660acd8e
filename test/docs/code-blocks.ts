/**
 * The code blocks of the README and the guides in docs/: fenced blocks with their language,
 * their info-string flags (`runnable`) and where they start, for the samples test.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export interface CodeBlock {
  /** Markdown file, relative to the repository root. */
  file: string;
  /** Line of the opening fence (1-based). */
  line: number;
  lang: string;
  runnable: boolean;
  code: string;
}

export const TYPESCRIPT = new Set(['ts', 'typescript']);
export const JAVASCRIPT = new Set(['js', 'javascript', 'mjs']);
export const SHELL = new Set(['sh', 'bash', 'shell']);

/** README.md and every guide under docs/ (not the generated API reference). */
export function docFiles(root: string): string[] {
  const found = ['README.md'];
  const walk = (dir: string) => {
    for (const entry of readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const rel = path.posix.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (rel !== 'docs/api') walk(rel);
      } else if (entry.name.endsWith('.md')) found.push(rel);
    }
  };
  walk('docs');
  return found.sort();
}

export function codeBlocks(root: string, file: string): CodeBlock[] {
  const lines = readFileSync(path.join(root, file), 'utf8').split('\n');
  const blocks: CodeBlock[] = [];
  let open: { line: number; info: string; fence: string; body: string[] } | null = null;
  lines.forEach((text, index) => {
    if (open) {
      if (text.trim() === open.fence) {
        const [lang = '', ...flags] = open.info.split(/\s+/);
        blocks.push({ file, line: open.line, lang: lang.toLowerCase(), runnable: flags.includes('runnable'), code: `${open.body.join('\n')}\n` });
        open = null;
      } else open.body.push(text);
      return;
    }
    const match = /^(`{3,}|~{3,})\s*(.*)$/.exec(text);
    if (match) open = { line: index + 1, fence: match[1]!, info: match[2]!.trim(), body: [] };
  });
  if (open) throw new Error(`${file}:${(open as { line: number }).line}: code block never closed`);
  return blocks;
}
