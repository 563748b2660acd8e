/**
 * Real storage faults for tests, where the machine allows them (Linux, as root, with mount):
 * a small tmpfs that fills up (ENOSPC), remounted read-only (EROFS), and an ext4 file system
 * on a loop device that is shut down underneath the server (every call then fails with EIO,
 * as when the device goes away). Where they cannot be made, `FaultyFs` gives the same errnos
 * through the file-system layer, so a fault test never silently skips.
 */
import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import { nodeFs, type FsHandle, type FsLayer } from '../../src/storage/fs/fs-layer.js';

const run = promisify(execFile);

let available: Promise<boolean> | undefined;

/**
 * Whether real faults can be made here: Linux, root, and a tmpfs mount works.
 * `KV_TEST_FS_LAYER_FAULTS=1` forces the fs-layer variants (to run them where mounts work).
 */
export function realFaultsAvailable(): Promise<boolean> {
  available ??= (async () => {
    if (process.env.KV_TEST_FS_LAYER_FAULTS === '1') return false;
    if (process.platform !== 'linux' || process.getuid?.() !== 0) return false;
    let mount: TmpfsMount | undefined;
    try {
      mount = await mountTmpfs(64 * 1024);
      return true;
    } catch {
      return false;
    } finally {
      await mount?.unmount();
    }
  })();
  return available;
}

export interface TmpfsMount {
  dir: string;
  remountReadOnly(): Promise<void>;
  remountWritable(): Promise<void>;
  /** Unmounts and removes the mount point; safe to call twice. */
  unmount(): Promise<void>;
}

export async function mountTmpfs(sizeBytes: number): Promise<TmpfsMount> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'kv-tmpfs-'));
  try {
    await run('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes}`, 'tmpfs', dir]);
  } catch (error) {
    await fsp.rmdir(dir).catch(() => undefined);
    throw error;
  }
  let mounted = true;
  return {
    dir,
    remountReadOnly: async () => void (await run('mount', ['-o', 'remount,ro', dir])),
    remountWritable: async () => void (await run('mount', ['-o', 'remount,rw', dir])),
    unmount: async () => {
      if (!mounted) return;
      mounted = false;
      await unmountLazily(dir);
      await fsp.rmdir(dir).catch(() => undefined);
    },
  };
}

export interface LoopMount {
  dir: string;
  /** Shuts the file system down: from now on every call on it fails with EIO. */
  failDevice(): Promise<void>;
  unmount(): Promise<void>;
}

/** A small ext4 file system on a loop device, mounted on a fresh folder. */
export async function mountExt4OnLoop(sizeBytes: number): Promise<LoopMount> {
  const work = await fsp.mkdtemp(path.join(os.tmpdir(), 'kv-loop-'));
  const image = path.join(work, 'disk.img');
  const dir = path.join(work, 'mnt');
  await fsp.mkdir(dir);
  await fsp.writeFile(image, '');
  await fsp.truncate(image, sizeBytes);
  let device: string | undefined;
  const cleanup = async () => {
    await unmountLazily(dir);
    if (device) await run('losetup', ['-d', device]).catch(() => undefined);
    await fsp.rm(work, { recursive: true, force: true });
  };
  try {
    await run('mkfs.ext4', ['-q', '-F', image]);
    device = (await run('losetup', ['-f', '--show', image])).stdout.trim();
    await run('mount', [device, dir]);
  } catch (error) {
    await cleanup();
    throw error;
  }
  let mounted = true;
  return {
    dir,
    failDevice: async () => void (await run('xfs_io', ['-x', '-c', 'shutdown', dir])),
    unmount: async () => {
      if (!mounted) return;
      mounted = false;
      await cleanup();
    },
  };
}

async function unmountLazily(dir: string): Promise<void> {
  // Lazy: a descriptor the server still holds must not keep the mount around.
  await run('umount', ['-l', dir]).catch(() => undefined);
}

/** An errno error as Node's fs raises it (the path in the message, as Node puts it there). */
export function errnoError(code: string, syscall: string, file: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: fault injected, ${syscall} '${file}'`), { code, syscall, path: file });
}

/**
 * The real file system with faults switched on at will: `failWrites(code)` makes every call
 * that changes something fail with that errno, `failAll(code)` every call at all.
 */
export class FaultyFs implements FsLayer {
  private writeFault: string | undefined;
  private readFault: string | undefined;

  failWrites(code: string): void {
    this.writeFault = code;
  }

  failAll(code: string): void {
    this.writeFault = code;
    this.readFault = code;
  }

  heal(): void {
    this.writeFault = undefined;
    this.readFault = undefined;
  }

  private check(kind: 'read' | 'write', syscall: string, file: string): void {
    const code = kind === 'write' ? this.writeFault : this.readFault;
    if (code) throw errnoError(code, syscall, file);
  }

  async open(file: string, flags: 'r' | 'wx'): Promise<FsHandle> {
    this.check(flags === 'r' ? 'read' : 'write', 'open', file);
    const handle = await nodeFs.open(file, flags);
    return {
      write: async (data, offset, length) => {
        this.check('write', 'write', file);
        return handle.write(data, offset, length);
      },
      read: async (buffer, offset, length, position) => {
        this.check('read', 'read', file);
        return handle.read(buffer, offset, length, position);
      },
      sync: async () => {
        this.check('write', 'fsync', file);
        return handle.sync();
      },
      stat: () => handle.stat(),
      close: () => handle.close(),
    };
  }

  readdir = async (dir: string) => (this.check('read', 'scandir', dir), nodeFs.readdir(dir));
  lstat = async (file: string) => (this.check('read', 'lstat', file), nodeFs.lstat(file));
  stat = async (file: string) => (this.check('read', 'stat', file), nodeFs.stat(file));
  rename = async (from: string, to: string) => (this.check('write', 'rename', from), nodeFs.rename(from, to));
  link = async (existing: string, to: string) => (this.check('write', 'link', to), nodeFs.link(existing, to));
  remove = async (file: string) => (this.check('write', 'unlink', file), nodeFs.remove(file));
  mkdir = async (dir: string) => (this.check('write', 'mkdir', dir), nodeFs.mkdir(dir));
  mkdirExclusive = async (dir: string) => (this.check('write', 'mkdir', dir), nodeFs.mkdirExclusive(dir));
  rmdir = async (dir: string) => (this.check('write', 'rmdir', dir), nodeFs.rmdir(dir));
  removeTree = async (dir: string) => (this.check('write', 'rm', dir), nodeFs.removeTree(dir));
  readFile = async (file: string) => (this.check('read', 'open', file), nodeFs.readFile(file));
  syncDir = async (dir: string) => (this.check('write', 'fsync', dir), nodeFs.syncDir(dir));
}
