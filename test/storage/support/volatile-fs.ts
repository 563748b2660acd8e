/**
 * An in-memory file system that behaves like a disk behind a page cache: file data and
 * folder entries change at once, but reach "the disk" only when fsynced (`sync` on a file,
 * `syncDir` on a folder). `cutPower()` (or `cutPowerAfter(n)` operations) stops it: every
 * later call fails with EIO. `reboot()` then keeps what was durable, and, in `chaos` mode,
 * any subset of what was not (each folder entry and each file independently, a file's
 * unsynced data possibly cut short), as a real disk may have written some of it back; a rename
 * between folders reaches the disk whole or not at all (as on journaling file systems).
 */
import type { DirHandle, FsEntry, FsHandle, FsLayer, FsStats } from '../../../src/storage/fs/fs-layer.js';

interface Inode {
  ino: number;
  kind: 'file' | 'dir';
  data: Buffer;
  durableData: Buffer;
  entries: Map<string, Inode>;
  durableEntries: Map<string, Inode>;
  mtimeMs: number;
}

function fsError(code: string, what: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: ${what}`), { code });
}

export class VolatileFs implements FsLayer {
  private nextIno = 1;
  private readonly root: Inode = this.inode('dir');
  private operations = 0;
  private cutAt = Infinity;
  /** Renames between folders whose new name is not durable yet. */
  private moves: Array<{ from: Inode; fromName: string; to: Inode; toName: string; inode: Inode }> = [];
  /** fsyncs so far: of files and of folders. */
  fileSyncs = 0;
  dirSyncs = 0;

  /** `syncMillis`: how long an fsync takes, as on a real disk (0: at once). */
  constructor(
    private readonly random: () => number = Math.random,
    private readonly syncMillis = 0,
  ) {}

  private async diskLatency(): Promise<void> {
    if (this.syncMillis > 0) await new Promise((resolve) => setTimeout(resolve, this.syncMillis));
  }

  get powered(): boolean {
    return this.operations < this.cutAt;
  }

  cutPower(): void {
    this.cutAt = this.operations;
  }

  cutPowerAfter(operations: number): void {
    this.cutAt = this.operations + operations;
  }

  /** What is on the disk becomes the state; unsynced changes are lost (or, in chaos mode, partly kept). */
  reboot(chaos: boolean): void {
    // Each folder's entries as found after the reboot.
    const after = new Map<Inode, Map<string, Inode>>();
    const visit = (dir: Inode) => {
      if (after.has(dir)) return;
      const next = new Map<string, Inode>();
      after.set(dir, next);
      for (const name of new Set([...dir.entries.keys(), ...dir.durableEntries.keys()])) {
        const now = dir.entries.get(name);
        const before = dir.durableEntries.get(name);
        const chosen = now === before || !chaos ? before : this.random() < 0.5 ? now : before;
        if (chosen) next.set(name, chosen);
      }
      for (const child of next.values()) if (child.kind === 'dir') visit(child);
    };
    visit(this.root);
    // A rename between folders reaches the disk as one change (as on journaling file
    // systems): its old name is gone exactly when its new name was kept.
    for (const move of this.moves) {
      const from = after.get(move.from);
      if (!from) continue;
      const arrived = after.get(move.to)?.get(move.toName) === move.inode;
      if (arrived && from.get(move.fromName) === move.inode) from.delete(move.fromName);
      if (!arrived && !from.has(move.fromName) && move.from.durableEntries.get(move.fromName) === move.inode) {
        from.set(move.fromName, move.inode);
      }
    }
    this.moves = [];
    const settled = new Set<Inode>();
    for (const [dir, next] of after) {
      dir.entries = next;
      dir.durableEntries = new Map(next);
      for (const child of next.values()) {
        if (child.kind === 'file' && !settled.has(child)) {
          settled.add(child);
          this.settleFile(child, chaos);
        }
      }
    }
    this.operations = 0;
    this.cutAt = Infinity;
  }

  private settleFile(file: Inode, chaos: boolean): void {
    if (!file.data.equals(file.durableData) && chaos) {
      const pick = this.random();
      if (pick < 0.34) file.durableData = Buffer.from(file.data);
      else if (pick < 0.67) file.durableData = Buffer.from(file.data.subarray(0, Math.floor(this.random() * file.data.length)));
    }
    file.data = Buffer.from(file.durableData);
  }

  // ---- FsLayer ---------------------------------------------------------------------

  async open(file: string, flags: 'r' | 'wx'): Promise<FsHandle> {
    this.step(`open ${file}`);
    const { dir, name } = this.parent(file);
    let inode = dir.entries.get(name);
    if (flags === 'wx') {
      if (inode) throw fsError('EEXIST', file);
      inode = this.inode('file');
      dir.entries.set(name, inode);
    } else if (!inode) {
      throw fsError('ENOENT', file);
    } else if (inode.kind === 'dir') {
      throw fsError('EISDIR', file);
    }
    return this.handle(inode, file);
  }

  async readdir(dir: string): Promise<FsEntry[]> {
    this.step(`readdir ${dir}`);
    const inode = this.lookup(dir);
    if (inode.kind !== 'dir') throw fsError('ENOTDIR', dir);
    return [...inode.entries].map(([name, child]) => ({
      name,
      isFile: () => child.kind === 'file',
      isDirectory: () => child.kind === 'dir',
    }));
  }

  async lstat(file: string): Promise<FsStats> {
    this.step(`lstat ${file}`);
    return this.stats(this.lookup(file));
  }

  /** No symbolic links here: as `lstat`. */
  async stat(file: string): Promise<FsStats> {
    this.step(`stat ${file}`);
    return this.stats(this.lookup(file));
  }

  async mkdirExclusive(path: string): Promise<void> {
    this.step(`mkdirExclusive ${path}`);
    const { dir, name } = this.parent(path);
    if (dir.entries.has(name)) throw fsError('EEXIST', path);
    dir.entries.set(name, this.inode('dir'));
  }

  async rmdir(path: string): Promise<void> {
    this.step(`rmdir ${path}`);
    const { dir, name } = this.parent(path);
    const inode = dir.entries.get(name);
    if (!inode) throw fsError('ENOENT', path);
    if (inode.kind !== 'dir') throw fsError('ENOTDIR', path);
    if (inode.entries.size > 0) throw fsError('ENOTEMPTY', path);
    dir.entries.delete(name);
  }

  /** Unlinks the folder from its parent: what it held goes with it (as after an fsync, once the parent's is). */
  async removeTree(path: string): Promise<void> {
    this.step(`removeTree ${path}`);
    const { dir, name } = this.parent(path);
    dir.entries.delete(name);
  }

  async rename(from: string, to: string): Promise<void> {
    this.step(`rename ${from} ${to}`);
    const source = this.parent(from);
    const inode = source.dir.entries.get(source.name);
    if (!inode) throw fsError('ENOENT', from);
    const target = this.parent(to);
    const replaced = target.dir.entries.get(target.name);
    // As POSIX: a folder may replace an empty folder; nothing replaces a folder otherwise.
    if (replaced?.kind === 'dir' && (inode.kind !== 'dir' || replaced.entries.size > 0)) {
      throw fsError(inode.kind === 'dir' ? 'ENOTEMPTY' : 'EISDIR', to);
    }
    source.dir.entries.delete(source.name);
    target.dir.entries.set(target.name, inode);
    if (source.dir !== target.dir) this.moves.push({ from: source.dir, fromName: source.name, to: target.dir, toName: target.name, inode });
  }

  /** A second folder entry for the same file: as any new entry, durable once its folder is synced. */
  async link(existing: string, to: string): Promise<void> {
    this.step(`link ${existing} ${to}`);
    const source = this.parent(existing);
    const inode = source.dir.entries.get(source.name);
    if (!inode) throw fsError('ENOENT', existing);
    if (inode.kind === 'dir') throw fsError('EPERM', existing);
    const target = this.parent(to);
    if (target.dir.entries.has(target.name)) throw fsError('EEXIST', to);
    target.dir.entries.set(target.name, inode);
  }

  async remove(file: string): Promise<void> {
    this.step(`remove ${file}`);
    const { dir, name } = this.parent(file);
    if (dir.entries.get(name)?.kind === 'dir') throw fsError('EISDIR', file);
    dir.entries.delete(name);
  }

  async mkdir(path: string): Promise<void> {
    this.step(`mkdir ${path}`);
    let dir = this.root;
    for (const part of this.parts(path)) {
      let child = dir.entries.get(part);
      if (!child) {
        child = this.inode('dir');
        dir.entries.set(part, child);
      }
      if (child.kind !== 'dir') throw fsError('ENOTDIR', path);
      dir = child;
    }
  }

  async readFile(file: string): Promise<Buffer> {
    this.step(`readFile ${file}`);
    const inode = this.lookup(file);
    if (inode.kind === 'dir') throw fsError('EISDIR', file);
    return Buffer.from(inode.data);
  }

  async syncDir(dir: string): Promise<void> {
    this.step(`syncDir ${dir}`);
    await this.diskLatency();
    this.syncFolder(this.lookup(dir));
  }

  /** A folder held open: its fsyncs apply to the folder it was when opened. */
  async openDir(dir: string): Promise<DirHandle> {
    this.step(`openDir ${dir}`);
    const inode = this.lookup(dir);
    if (inode.kind !== 'dir') throw fsError('ENOTDIR', dir);
    return {
      sync: async () => {
        this.step(`syncDir (open) ${dir}`);
        await this.diskLatency();
        this.syncFolder(inode);
      },
      close: async () => {},
    };
  }

  private syncFolder(inode: Inode): void {
    // Renames into or out of this folder reach the disk whole: both their ends, in order.
    for (const move of this.moves.filter((m) => m.to === inode || m.from === inode)) {
      if (move.from.durableEntries.get(move.fromName) === move.inode) move.from.durableEntries.delete(move.fromName);
      move.to.durableEntries.set(move.toName, move.inode);
    }
    this.moves = this.moves.filter((m) => m.to !== inode && m.from !== inode);
    inode.durableEntries = new Map(inode.entries);
    this.dirSyncs++;
  }

  // ---- helpers for tests -----------------------------------------------------------

  /** Creates folders and makes them durable, as an existing store folder would be. */
  async mkdirDurable(path: string): Promise<void> {
    await this.mkdir(path);
    let dir = this.root;
    dir.durableEntries = new Map(dir.entries);
    for (const part of this.parts(path)) {
      dir = dir.entries.get(part)!;
      dir.durableEntries = new Map(dir.entries);
    }
  }

  /** Adds durable files to a folder at once (quicker than opening each). */
  addDurableFiles(dir: string, files: Iterable<[name: string, data: Buffer]>): void {
    const folder = this.lookup(dir);
    for (const [name, data] of files) {
      const file = this.inode('file');
      file.data = data;
      file.durableData = data;
      folder.entries.set(name, file);
      folder.durableEntries.set(name, file);
    }
  }

  // ---- internals -------------------------------------------------------------------

  private step(what: string): void {
    if (this.operations >= this.cutAt) throw fsError('EIO', `power is off (${what})`);
    this.operations++;
  }

  private inode(kind: 'file' | 'dir'): Inode {
    return {
      ino: this.nextIno++,
      kind,
      data: Buffer.alloc(0),
      durableData: Buffer.alloc(0),
      entries: new Map(),
      durableEntries: new Map(),
      mtimeMs: Date.now(),
    };
  }

  private parts(path: string): string[] {
    if (!path.startsWith('/')) throw new Error(`absolute paths only: ${path}`);
    return path.split('/').filter((part) => part !== '');
  }

  private lookup(path: string): Inode {
    let inode = this.root;
    for (const part of this.parts(path)) {
      const child = inode.kind === 'dir' ? inode.entries.get(part) : undefined;
      if (!child) throw fsError(inode.kind === 'dir' ? 'ENOENT' : 'ENOTDIR', path);
      inode = child;
    }
    return inode;
  }

  private parent(path: string): { dir: Inode; name: string } {
    const parts = this.parts(path);
    const name = parts.pop();
    if (!name) throw fsError('EINVAL', path);
    const dir = this.lookup(`/${parts.join('/')}`);
    if (dir.kind !== 'dir') throw fsError('ENOTDIR', path);
    return { dir, name };
  }

  private stats(inode: Inode): FsStats {
    return {
      size: inode.data.length,
      ino: inode.ino,
      mtimeMs: inode.mtimeMs,
      isFile: () => inode.kind === 'file',
      isDirectory: () => inode.kind === 'dir',
    };
  }

  private handle(inode: Inode, path: string): FsHandle {
    let position = 0;
    let closed = false;
    const check = (what: string) => {
      if (closed) throw fsError('EBADF', path);
      this.step(`${what} ${path}`);
    };
    return {
      write: async (data, offset, length) => {
        check('write');
        const chunk = Buffer.from(data.buffer, data.byteOffset + offset, length);
        const end = position + length;
        const grown = Buffer.alloc(Math.max(inode.data.length, end));
        inode.data.copy(grown);
        chunk.copy(grown, position);
        inode.data = grown;
        inode.mtimeMs = Date.now();
        position = end;
        return { bytesWritten: length };
      },
      read: async (buffer, offset, length, at) => {
        check('read');
        const available = Math.max(0, Math.min(length, inode.data.length - at));
        inode.data.copy(buffer, offset, at, at + available);
        return { bytesRead: available };
      },
      sync: async () => {
        check('sync');
        await this.diskLatency();
        inode.durableData = Buffer.from(inode.data);
        this.fileSyncs++;
      },
      stat: async () => {
        check('stat');
        return this.stats(inode);
      },
      close: async () => {
        closed = true;
      },
    };
  }
}
