/**
 * The local server as a separate process (so it can be killed with SIGKILL and its memory
 * measured), temp folders, and small helpers the reliability suites share.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';

const serverEntry = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../src/server/index.ts');

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A fresh folder under the OS temp dir. */
export function makeTempDir(prefix: string): Promise<string> {
  return fsp.mkdtemp(path.join(os.tmpdir(), prefix));
}

export function removeDir(dir: string | undefined): Promise<void> {
  return dir ? fsp.rm(dir, { recursive: true, force: true }) : Promise.resolve();
}

/**
 * Bundles the `serve` command into one plain JavaScript file a bare `node` can run, so tests
 * can start (and SIGKILL) the server as a process of its own. Returns the file's path inside `dir`.
 */
export async function buildServerLauncher(dir: string): Promise<string> {
  const launcher = path.join(dir, 'server-launcher.cjs');
  await build({
    stdin: {
      contents: `import { runServeCommand } from ${JSON.stringify(serverEntry)};
        runServeCommand(process.argv.slice(2)).then((r) => { if (typeof r === 'number') process.exit(r); });`,
      resolveDir: dir,
      loader: 'ts',
    },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outfile: launcher,
    logLevel: 'silent',
  });
  return launcher;
}

export interface ServerProcess {
  proc: ChildProcess;
  pid: number;
  port: number;
  url: string;
  /** Everything the process wrote to stderr so far. */
  stderr(): string;
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Whether the process is still running. */
  alive(): boolean;
  /** Resident set size of the process, in bytes. */
  rssBytes(): Promise<number>;
  /** Sockets the process holds open (listening one included); undefined where /proc is missing. */
  openSockets(): Promise<number | undefined>;
  /** Sends a signal and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export interface ServerProcessOptions {
  /** The storage folder; under `useProcessStorage`, the name of the storage (same name, same storage). */
  storageDir: string;
  consistencyLagMillis?: number;
  maxPayloadBytes?: number;
}

/**
 * Where spawned servers keep their stores, when not in their `storageDir` folder: the S3 suites
 * (test/s3/) switch a test file's servers to a prefix of a bucket, one prefix per `storageDir`.
 */
export interface ProcessStorage {
  kind: 's3';
  /** Command-line arguments selecting the storage named `storageDir`. */
  args(storageDir: string): string[];
  /** Variables the server process needs for it (credentials). */
  env(): Record<string, string>;
  /** Every object of the storage named `storageDir` under `under` (relative names), with a digest of its body. */
  objects(storageDir: string, under?: string): Promise<Map<string, string>>;
}

let processStorage: ProcessStorage | undefined;

/** Makes every later `spawnServer` of this test file run over the given storage. */
export function useProcessStorage(storage: ProcessStorage): void {
  processStorage = storage;
}

/** The storage that spawned servers of this test file run on. */
export function processStorageKind(): 'folder' | 's3' {
  return processStorage?.kind ?? 'folder';
}

/** The S3 equivalent of reading a storage folder: objects of that storage under `under`. */
export function storedObjects(storageDir: string, under = ''): Promise<Map<string, string>> {
  if (!processStorage) throw new Error('storedObjects is for servers over S3; read the folder itself on folder storage.');
  return processStorage.objects(storageDir, under);
}

/** Starts the server on 127.0.0.1, port 0, and waits for its "Listening on" line. */
export async function spawnServer(launcher: string, options: ServerProcessOptions): Promise<ServerProcess> {
  const storageArgs = processStorage ? processStorage.args(options.storageDir) : ['--storage-dir', options.storageDir];
  const args = [launcher, '--host', '127.0.0.1', '--port', '0', ...storageArgs];
  if (options.consistencyLagMillis !== undefined) args.push('--consistency-lag-ms', String(options.consistencyLagMillis));
  if (options.maxPayloadBytes !== undefined) args.push('--max-payload-bytes', String(options.maxPayloadBytes));
  const env = processStorage ? { ...process.env, ...processStorage.env() } : process.env;
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const alive = () => proc.exitCode === null && proc.signalCode === null;
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline && alive()) {
    const match = /Listening on (http:\/\/127\.0\.0\.1:(\d+))/.exec(out);
    if (match) {
      return {
        proc,
        pid: proc.pid!,
        port: Number(match[2]),
        url: match[1]!,
        stderr: () => err,
        exited,
        alive,
        rssBytes: () => rssOf(proc.pid!),
        openSockets: () => socketsOf(proc.pid!),
        kill: async (signal = 'SIGKILL') => {
          if (alive()) proc.kill(signal);
          await exited;
        },
      };
    }
    await sleep(20);
  }
  proc.kill('SIGKILL');
  throw new Error(`server did not start: ${out} ${err}`);
}

/** RSS of a process in bytes: from /proc on Linux, else from `ps`. */
async function rssOf(pid: number): Promise<number> {
  try {
    const status = await fsp.readFile(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    if (match) return Number(match[1]) * 1024;
  } catch {
    // Not Linux: ask ps.
  }
  const { stdout } = await promisify(execFile)('ps', ['-o', 'rss=', '-p', String(pid)]);
  return Number(stdout.trim()) * 1024;
}

async function socketsOf(pid: number): Promise<number | undefined> {
  let fds: string[];
  try {
    fds = await fsp.readdir(`/proc/${pid}/fd`);
  } catch {
    return undefined;
  }
  const links = await Promise.all(fds.map((fd) => fsp.readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')));
  return links.filter((link) => link.startsWith('socket:')).length;
}

/**
 * Deterministic pseudo-random bytes for a label (e.g. `key:version`), fast enough for many MiB:
 * an AES-CTR keystream keyed by the label's hash.
 */
export function deterministicBytes(label: string, size: number): Buffer {
  const digest = createHash('sha256').update(label).digest();
  const cipher = createCipheriv('aes-128-ctr', digest.subarray(0, 16), digest.subarray(16, 32));
  return cipher.update(Buffer.alloc(size));
}

/** p-th percentile (0-100) of a list of numbers, nearest-rank. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export const MiB = 1024 * 1024;

/** A record body read with `disableBodyParser` (a Buffer in Node, an ArrayBuffer in the browser) as a Buffer. */
export function bytesOf(body: Uint8Array | ArrayBuffer): Buffer {
  return Buffer.isBuffer(body) ? body : Buffer.from(body instanceof ArrayBuffer ? new Uint8Array(body) : body);
}

export function formatMiB(bytes: number): string {
  return `${(bytes / MiB).toFixed(1)} MiB`;
}
