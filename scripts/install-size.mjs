// What installing a package brings into an empty project: how many packages and how many bytes.
//
// Offline by default: the dependency tree is walked in this repository's node_modules the way
// Node resolves it (nested node_modules first, then each parent's), from the package's runtime
// dependencies and its required (non-optional) peer dependencies, as npm installs them. Bytes
// are file sizes as listed (not disk blocks), each package counted once, without its nested
// node_modules (those are packages of their own). This package itself is counted as its packed
// files (`npm pack --dry-run`), which is what an install unpacks.
//
// `measureByInstall` does the real thing instead: `npm install` into an empty folder (network).
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Sum of file sizes under `dir`, leaving out nested node_modules folders. */
export function folderBytes(dir) {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules') continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) total += folderBytes(full);
    else if (entry.isFile()) total += lstatSync(full).size;
  }
  return total;
}

function readJson(file) {
  return JSON.parse(readFileSync(file, 'utf8'));
}

/** Where Node would find `name` required from the package in `fromDir` (looking no higher than `root`). */
function resolvePackageDir(name, fromDir, root) {
  const top = path.resolve(root);
  // Node's lookup: `node_modules` in the folder and in each folder above it (not in node_modules folders themselves).
  for (let dir = path.resolve(fromDir); ; dir = path.dirname(dir)) {
    if (path.basename(dir) !== 'node_modules') {
      const candidate = path.join(dir, 'node_modules', name);
      if (existsSync(path.join(candidate, 'package.json'))) return candidate;
    }
    if (dir === top || dir === path.dirname(dir)) return null;
  }
}

/** The names npm installs for a manifest: dependencies, optional ones, required peers. */
function runtimeDependencyNames(manifest) {
  const optionalPeers = new Set(Object.entries(manifest.peerDependenciesMeta ?? {}).filter(([, m]) => m?.optional).map(([n]) => n));
  return [
    ...Object.keys(manifest.dependencies ?? {}),
    ...Object.keys(manifest.optionalDependencies ?? {}),
    ...Object.keys(manifest.peerDependencies ?? {}).filter((name) => !optionalPeers.has(name)),
  ];
}

/**
 * The packages (folders) installing `manifest` brings, found from `fromDir`, not counting the
 * package itself. Optional dependencies missing on this machine (other platforms) are left out.
 */
export function dependencyClosure(manifest, fromDir, root) {
  const found = new Map();
  const queue = runtimeDependencyNames(manifest).map((name) => ({ name, fromDir }));
  while (queue.length > 0) {
    const { name, fromDir: from } = queue.shift();
    const dir = resolvePackageDir(name, from, root);
    if (dir === null || found.has(dir)) continue;
    const child = readJson(path.join(dir, 'package.json'));
    found.set(dir, { name, version: child.version });
    for (const dep of runtimeDependencyNames(child)) queue.push({ name: dep, fromDir: dir });
  }
  return found;
}

/** Packages and bytes of the closure, plus `ownBytes` for the package itself. */
function summarise(closure, ownBytes) {
  let bytes = ownBytes;
  for (const dir of closure.keys()) bytes += folderBytes(dir);
  return { packages: closure.size + 1, bytes };
}

/** This package as `npm pack` would publish it: its files' total size. */
export function packedSize(root) {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const [info] = JSON.parse(out);
  return { unpackedSize: info.unpackedSize, tarballSize: info.size, files: info.files.map((file) => file.path) };
}

/** Offline: this package (packed) and apify-client, each with its dependency tree, from node_modules. */
export function measureOffline(root) {
  const manifest = readJson(path.join(root, 'package.json'));
  const own = summarise(dependencyClosure(manifest, root, root), packedSize(root).unpackedSize);
  const peerDir = resolvePackageDir('apify-client', root, root);
  if (peerDir === null) throw new Error('apify-client is not in node_modules: run npm ci');
  const peerManifest = readJson(path.join(peerDir, 'package.json'));
  const peer = summarise(dependencyClosure(peerManifest, peerDir, root), folderBytes(peerDir));
  return { own: { name: manifest.name, version: manifest.version, ...own }, peer: { name: 'apify-client', version: peerManifest.version, ...peer } };
}

/** Counts what `npm install SPEC` put into the empty project `dir`. */
function installedFigures(dir) {
  const lock = readJson(path.join(dir, 'package-lock.json'));
  const packages = Object.keys(lock.packages).filter((key) => key !== '');
  let bytes = 0;
  for (const key of packages) bytes += folderBytes(path.join(dir, key));
  return { packages: packages.length, bytes };
}

/** Online: `npm install` of the packed tarball and of apify-client@VERSION, each into an empty project. */
export function measureByInstall(root, peerVersion) {
  const work = mkdtempSync(path.join(os.tmpdir(), 'apify-kv-size-'));
  try {
    const tarball = execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', work], { cwd: root, encoding: 'utf8' }).trim().split('\n').pop();
    const install = (name, spec) => {
      const dir = path.join(work, name);
      execFileSync('mkdir', ['-p', dir]);
      writeFileSync(path.join(dir, 'package.json'), '{"name":"size-probe","version":"1.0.0","private":true}\n');
      execFileSync('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', spec], { cwd: dir, stdio: 'ignore' });
      return installedFigures(dir);
    };
    return {
      own: { name: 'apify-kv-client (packed)', ...install('own', path.join(work, tarball)) },
      peer: { name: `apify-client@${peerVersion}`, ...install('peer', `apify-client@${peerVersion}`) },
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
