/**
 * A project that installed this package, made offline: the packed files copied into
 * `node_modules/apify-kv-client`, the other packages linked from this repository's node_modules,
 * minus the ones a test leaves out (as if never installed).
 */
import { execFileSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { ROOT } from '../cli/helpers.js';

export { ROOT };

/** The files `npm pack` would publish, relative to the package root. */
export function packedFiles(): string[] {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const [info] = JSON.parse(out) as [{ files: { path: string }[] }];
  return info.files.map((file) => file.path).sort();
}

/** A temp project with the package installed; `without` names node_modules entries to leave out (`@aws-sdk`). */
export async function installedProject(without: string[]): Promise<{ dir: string; packageDir: string; remove(): Promise<void> }> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'apify-kv-installed-'));
  const modules = path.join(dir, 'node_modules');
  const packageDir = path.join(modules, 'apify-kv-client');
  for (const file of packedFiles()) {
    await fsp.mkdir(path.dirname(path.join(packageDir, file)), { recursive: true });
    await fsp.copyFile(path.join(ROOT, file), path.join(packageDir, file));
  }
  for (const entry of await fsp.readdir(path.join(ROOT, 'node_modules'))) {
    if (entry.startsWith('.') || entry === 'apify-kv-client' || without.includes(entry)) continue;
    await fsp.symlink(path.join(ROOT, 'node_modules', entry), path.join(modules, entry));
  }
  await fsp.writeFile(path.join(dir, 'package.json'), '{ "name": "installed-project", "private": true }\n');
  return { dir, packageDir, remove: () => fsp.rm(dir, { recursive: true, force: true }) };
}
