import { readSync } from 'node:fs';

/** Protobuf wire types. */
export const Wire = { VARINT: 0, I64: 1, LEN: 2, SGROUP: 3, EGROUP: 4, I32: 5 } as const;

/** A malformed or truncated protobuf, at a byte offset of the file where there is one. */
export class WireError extends Error {
  constructor(
    readonly reason: string,
    readonly offset?: number,
  ) {
    super(offset === undefined ? reason : `${reason} at byte ${offset}`);
    this.name = 'WireError';
  }
}

export interface Tag {
  field: number;
  wire: number;
  /** File offset of the tag: where the field starts. */
  at: number;
}

const MAX_BUFFER = 64 * 1024;
/** After a jump (a skipped field), read small: the next field is often skipped again. */
const FIRST_READ = 4 * 1024;
/** Names and other strings we decode; a longer one is a corrupt length, not a name. */
const MAX_STRING = 16 * 1024 * 1024;
const TWO_POW_49 = 2 ** 49;
/**
 * How deep messages and groups may nest: protobuf's C++ parser (which onnx and onnxruntime use)
 * refuses more by default (`CodedInputStream`'s default recursion limit, 100). A crafted file of
 * 200k nested groups would otherwise overflow our stack.
 */
export const MAX_DEPTH = 100;

/**
 * Reads protobuf wire format from a file through a small buffer, seeking past fields it skips.
 * Offsets are numbers (exact up to 2^53), so files over 2 GiB are fine. Reads are synchronous
 * positioned reads: a model with thousands of weights takes thousands of small reads, and a
 * thread-pool round trip for each would cost more than the reads themselves.
 */
export class WireReader {
  /** File offset of the next byte to decode. */
  pos = 0;
  private readonly buf = Buffer.allocUnsafe(MAX_BUFFER);
  /** File offset of buf[0]. */
  private bufStart = 0;
  private bufLen = 0;
  private readSize = FIRST_READ;
  /** How many messages and groups enclose `pos`. */
  private depth = 0;

  constructor(
    private readonly fd: number,
    /** File size in bytes. */
    readonly size: number,
  ) {}

  /** Makes min(n, bytes left in the file) bytes from `pos` available in the buffer (n <= 64 KiB). */
  private fill(n: number): void {
    const want = Math.min(n, this.size - this.pos);
    const off = this.pos - this.bufStart;
    if (off >= 0 && off + want <= this.bufLen) return;
    if (off >= 0 && off <= this.bufLen) {
      this.buf.copy(this.buf, 0, off, this.bufLen);
      this.bufLen -= off;
      this.readSize = Math.min(this.readSize * 2, MAX_BUFFER);
    } else if (off > this.bufLen && off - this.bufLen < MAX_BUFFER) {
      // a short hop forward, past small skipped fields: read on in growing chunks
      this.bufLen = 0;
      this.readSize = Math.min(this.readSize * 2, MAX_BUFFER);
    } else {
      this.bufLen = 0;
      this.readSize = FIRST_READ;
    }
    this.bufStart = this.pos;
    while (this.bufLen < want) {
      const fileLeft = this.size - (this.bufStart + this.bufLen);
      const length = Math.min(Math.max(want - this.bufLen, this.readSize), MAX_BUFFER - this.bufLen, fileLeft);
      const bytesRead = readSync(this.fd, this.buf, this.bufLen, length, this.bufStart + this.bufLen);
      if (bytesRead === 0) throw new WireError('file shrank while reading', this.bufStart + this.bufLen);
      this.bufLen += bytesRead;
    }
  }

  /** Fails when `n` bytes from `from` would run past `end` (the enclosing message) or the file. */
  private check(from: number, n: number, end: number, fieldAt: number): void {
    if (from + n <= end) return;
    throw new WireError(from + n > this.size ? 'truncated field' : 'field overruns its message', fieldAt);
  }

  /**
   * A varint: a number below 2^49, a bigint (64 bits, unsigned) at or above it.
   * Errors name `at`, the start of the field it belongs to.
   */
  private rawVarint(end: number, at = this.pos): number | bigint {
    this.fill(10);
    let i = this.pos - this.bufStart;
    const stop = Math.min(this.bufLen, i + (end - this.pos));
    let value = 0;
    let big: bigint | undefined;
    for (let shift = 0; ; shift += 7) {
      if (i >= stop) {
        throw new WireError(this.bufStart + i >= this.size ? 'truncated field' : 'field overruns its message', at);
      }
      if (shift >= 70) throw new WireError('malformed varint', at);
      const b = this.buf[i++];
      if (big === undefined && shift < 49) value += (b & 0x7f) * 2 ** shift;
      else {
        big ??= BigInt(value);
        big |= BigInt(b & 0x7f) << BigInt(shift);
      }
      if (b < 0x80) break;
    }
    this.pos = this.bufStart + i;
    if (big === undefined) return value;
    big = BigInt.asUintN(64, big);
    return big < TWO_POW_49 ? Number(big) : big;
  }

  /** The value of a varint field as a signed integer (int64 / int32 / enum), exact within ±2^53. */
  int(tag: Tag, end: number): number {
    const v = this.rawVarint(end, tag.at);
    return typeof v === 'number' ? v : Number(BigInt.asIntN(64, v));
  }

  /** The next field's tag. */
  tag(end: number): Tag {
    const at = this.pos;
    const t = this.rawVarint(end);
    if (typeof t !== 'number' || t >= 2 ** 32 || t < 8) throw new WireError('malformed field tag', at);
    return { field: Math.floor(t / 8), wire: t % 8, at };
  }

  /** The length prefix of a length-delimited field, checked against `end`; `pos` is then at its data. */
  length(tag: Tag, end: number): number {
    const len = Number(this.rawVarint(end, tag.at));
    if (!Number.isSafeInteger(len)) throw new WireError('malformed length', tag.at);
    this.check(this.pos, len, end, tag.at);
    return len;
  }

  /** A length-delimited field's data as UTF-8 (call after `length`). */
  string(tag: Tag, len: number): string {
    if (len > MAX_STRING) throw new WireError('string field too long', tag.at);
    if (len <= MAX_BUFFER) {
      this.fill(len);
      const start = this.pos - this.bufStart;
      this.pos += len;
      return this.buf.toString('utf8', start, start + len);
    }
    const big = Buffer.allocUnsafe(len);
    let got = 0;
    while (got < len) {
      const bytesRead = readSync(this.fd, big, got, len - got, this.pos + got);
      if (bytesRead === 0) throw new WireError('file shrank while reading', this.pos + got);
      got += bytesRead;
    }
    this.pos += len;
    return big.toString('utf8');
  }

  /** Runs `parse` one nesting level deeper; fails past MAX_DEPTH levels. */
  nested<T>(tag: Tag, parse: () => T): T {
    if (this.depth >= MAX_DEPTH) throw new WireError(`messages nested more than ${MAX_DEPTH} deep`, tag.at);
    this.depth += 1;
    try {
      return parse();
    } finally {
      this.depth -= 1;
    }
  }

  /** Moves past the data of a field whose tag was just read. */
  skip(tag: Tag, end: number): void {
    switch (tag.wire) {
      case Wire.VARINT:
        this.rawVarint(end, tag.at);
        return;
      case Wire.I64:
        this.check(this.pos, 8, end, tag.at);
        this.pos += 8;
        return;
      case Wire.I32:
        this.check(this.pos, 4, end, tag.at);
        this.pos += 4;
        return;
      case Wire.LEN: {
        const len = this.length(tag, end); // apart: `pos += length()` would add to the pos before the length prefix
        this.pos += len;
        return;
      }
      case Wire.SGROUP:
        this.nested(tag, () => {
          for (;;) {
            if (this.pos >= end) throw new WireError(end >= this.size ? 'truncated field' : 'unterminated group', tag.at);
            const inner = this.tag(end);
            if (inner.wire === Wire.EGROUP) {
              if (inner.field !== tag.field) throw new WireError('mismatched group end', inner.at);
              return;
            }
            this.skip(inner, end);
          }
        });
        return;
      default:
        throw new WireError(tag.wire === Wire.EGROUP ? 'unexpected group end' : `invalid wire type ${tag.wire}`, tag.at);
    }
  }
}

/**
 * Calls `onField` for every field of the message that ends at `end`; fields it does not take
 * (returns false) are skipped.
 */
export function readFields(r: WireReader, end: number, onField: (tag: Tag) => boolean): void {
  while (r.pos < end) {
    const tag = r.tag(end);
    if (!onField(tag)) r.skip(tag, end);
  }
}

/** Fails unless a known field has the wire type its schema gives it. */
export function expectWire(tag: Tag, wire: number, name: string): void {
  if (tag.wire !== wire) throw new WireError(`field ${name} has wire type ${tag.wire}, expected ${wire}`, tag.at);
}
