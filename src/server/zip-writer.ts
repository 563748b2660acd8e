/**
 * A streaming ZIP writer for archives of any number of entries: each entry's bytes go out as
 * they are read (local header, data, then a data descriptor with CRC and sizes), with the
 * output's backpressure respected, and all that is kept per entry is its central-directory
 * record (about 60 bytes, packed into shared buffers). ZIP64 where sizes or offsets need it.
 */
import { Transform, Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';

const LOCAL_HEADER = 0x04034b50;
const DATA_DESCRIPTOR = 0x08074b50;
const CENTRAL_HEADER = 0x02014b50;
const END_OF_CENTRAL = 0x06054b50;
const ZIP64_END_OF_CENTRAL = 0x06064b50;
const ZIP64_LOCATOR = 0x07064b50;
/** Bit 3: sizes and CRC follow the data; bit 11: names are UTF-8. */
const FLAGS = 0x0008 | 0x0800;
const STORE = 0;
const DEFLATE = 8;
const MAX32 = 0xffffffff;
/** Bodies this large may need 64-bit sizes (deflate can grow data a little). */
const ZIP64_BODY = 0xfff00000;
const VERSION = 45;
const CHUNK = 64 * 1024;

export interface ZipEntryOptions {
  mtime: Date;
  compress: boolean;
  /** The body's size, when known (decides whether 64-bit sizes are needed up front). */
  size?: number;
}

export class ZipWriter {
  private offset = 0;
  private entries = 0;
  private readonly central = new PackedBuffers();

  constructor(private readonly out: Writable) {}

  /** Writes one entry; resolves once its last byte is handed to the output. */
  async add(name: string, body: Readable, options: ZipEntryOptions): Promise<void> {
    const fileName = Buffer.from(name, 'utf8');
    const method = options.compress ? DEFLATE : STORE;
    const zip64 = (options.size ?? Infinity) >= ZIP64_BODY;
    const { time, date } = dosDateTime(options.mtime);
    const headerOffset = this.offset;

    const zip64Extra = zip64 ? Buffer.alloc(20) : Buffer.alloc(0);
    if (zip64) {
      zip64Extra.writeUInt16LE(0x0001, 0);
      zip64Extra.writeUInt16LE(16, 2); // sizes, zero here: the data descriptor has them
    }
    const header = Buffer.alloc(30);
    header.writeUInt32LE(LOCAL_HEADER, 0);
    header.writeUInt16LE(VERSION, 4);
    header.writeUInt16LE(FLAGS, 6);
    header.writeUInt16LE(method, 8);
    header.writeUInt16LE(time, 10);
    header.writeUInt16LE(date, 12);
    header.writeUInt32LE(zip64 ? MAX32 : 0, 18);
    header.writeUInt32LE(zip64 ? MAX32 : 0, 22);
    header.writeUInt16LE(fileName.length, 26);
    header.writeUInt16LE(zip64Extra.length, 28);
    await this.write(Buffer.concat([header, fileName, zip64Extra]));

    let crc = 0;
    let size = 0;
    const dataStart = this.offset;
    const measure = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        crc = zlib.crc32(chunk, crc);
        size += chunk.length;
        callback(null, chunk);
      },
    });
    const sink = new Writable({
      write: (chunk: Buffer, _encoding, callback) => {
        this.write(chunk).then(() => callback(), callback);
      },
    });
    if (method === DEFLATE) await pipeline(body, measure, zlib.createDeflateRaw(), sink);
    else await pipeline(body, measure, sink);
    const compressed = this.offset - dataStart;

    const descriptor = Buffer.alloc(zip64 ? 24 : 16);
    descriptor.writeUInt32LE(DATA_DESCRIPTOR, 0);
    descriptor.writeUInt32LE(crc, 4);
    if (zip64) {
      descriptor.writeBigUInt64LE(BigInt(compressed), 8);
      descriptor.writeBigUInt64LE(BigInt(size), 16);
    } else {
      if (compressed > MAX32 || size > MAX32) throw new Error(`Entry "${name}" grew past 4 GiB.`);
      descriptor.writeUInt32LE(compressed, 8);
      descriptor.writeUInt32LE(size, 12);
    }
    await this.write(descriptor);

    // The central directory record, kept until the end.
    const big = [size >= MAX32, compressed >= MAX32, headerOffset >= MAX32];
    const extraValues = [size, compressed, headerOffset].filter((_, i) => big[i]);
    const extra = Buffer.alloc(extraValues.length ? 4 + 8 * extraValues.length : 0);
    if (extraValues.length) {
      extra.writeUInt16LE(0x0001, 0);
      extra.writeUInt16LE(8 * extraValues.length, 2);
      extraValues.forEach((value, i) => extra.writeBigUInt64LE(BigInt(value), 4 + 8 * i));
    }
    const record = Buffer.alloc(46 + fileName.length + extra.length);
    record.writeUInt32LE(CENTRAL_HEADER, 0);
    record.writeUInt16LE(VERSION, 4); // made by
    record.writeUInt16LE(VERSION, 6); // needed
    record.writeUInt16LE(FLAGS, 8);
    record.writeUInt16LE(method, 10);
    record.writeUInt16LE(time, 12);
    record.writeUInt16LE(date, 14);
    record.writeUInt32LE(crc, 16);
    record.writeUInt32LE(big[1] ? MAX32 : compressed, 20);
    record.writeUInt32LE(big[0] ? MAX32 : size, 24);
    record.writeUInt16LE(fileName.length, 28);
    record.writeUInt16LE(extra.length, 30);
    record.writeUInt32LE(big[2] ? MAX32 : headerOffset, 42);
    fileName.copy(record, 46);
    extra.copy(record, 46 + fileName.length);
    this.central.append(record);
    this.entries++;
  }

  /** Writes the central directory and the end records, and ends the output. */
  async end(): Promise<void> {
    const centralOffset = this.offset;
    for (const chunk of this.central.chunks()) await this.write(chunk);
    const centralSize = this.offset - centralOffset;
    const needs64 = this.entries > 0xfffe || centralOffset >= MAX32 || centralSize >= MAX32;
    if (needs64) {
      const zip64End = Buffer.alloc(56);
      zip64End.writeUInt32LE(ZIP64_END_OF_CENTRAL, 0);
      zip64End.writeBigUInt64LE(44n, 4);
      zip64End.writeUInt16LE(VERSION, 12);
      zip64End.writeUInt16LE(VERSION, 14);
      zip64End.writeBigUInt64LE(BigInt(this.entries), 24);
      zip64End.writeBigUInt64LE(BigInt(this.entries), 32);
      zip64End.writeBigUInt64LE(BigInt(centralSize), 40);
      zip64End.writeBigUInt64LE(BigInt(centralOffset), 48);
      const locator = Buffer.alloc(20);
      locator.writeUInt32LE(ZIP64_LOCATOR, 0);
      locator.writeBigUInt64LE(BigInt(this.offset), 8);
      locator.writeUInt32LE(1, 16);
      await this.write(Buffer.concat([zip64End, locator]));
    }
    const end = Buffer.alloc(22);
    end.writeUInt32LE(END_OF_CENTRAL, 0);
    end.writeUInt16LE(needs64 ? 0xffff : this.entries, 8);
    end.writeUInt16LE(needs64 ? 0xffff : this.entries, 10);
    end.writeUInt32LE(needs64 ? MAX32 : centralSize, 12);
    end.writeUInt32LE(needs64 ? MAX32 : centralOffset, 16);
    await this.write(end);
    await new Promise<void>((resolve) => this.out.end(resolve));
  }

  /** Hands bytes to the output, waiting while its buffer is full. */
  private async write(chunk: Buffer): Promise<void> {
    this.offset += chunk.length;
    if (this.out.destroyed) throw new Error('The output was closed.');
    if (this.out.write(chunk)) return;
    await new Promise<void>((resolve, reject) => {
      const drained = () => {
        cleanup();
        resolve();
      };
      const closed = () => {
        cleanup();
        reject(new Error('The output was closed.'));
      };
      const cleanup = () => {
        this.out.off('drain', drained);
        this.out.off('close', closed);
      };
      this.out.on('drain', drained);
      this.out.on('close', closed);
    });
  }
}

/** Small records packed into 64 KiB buffers (one Buffer object per record would cost more than the record). */
class PackedBuffers {
  private readonly full: Buffer[] = [];
  private current = Buffer.allocUnsafe(CHUNK);
  private used = 0;

  append(data: Buffer): void {
    if (this.used + data.length > this.current.length) {
      this.full.push(this.current.subarray(0, this.used));
      this.current = Buffer.allocUnsafe(Math.max(CHUNK, data.length));
      this.used = 0;
    }
    data.copy(this.current, this.used);
    this.used += data.length;
  }

  chunks(): Buffer[] {
    return [...this.full, this.current.subarray(0, this.used)];
  }
}

/** MS-DOS date and time (local time, 2-second steps, 1980-2107). */
function dosDateTime(when: Date): { time: number; date: number } {
  const year = Math.min(Math.max(when.getFullYear(), 1980), 2107);
  return {
    date: ((year - 1980) << 9) | ((when.getMonth() + 1) << 5) | when.getDate(),
    time: (when.getHours() << 11) | (when.getMinutes() << 5) | Math.floor(when.getSeconds() / 2),
  };
}
