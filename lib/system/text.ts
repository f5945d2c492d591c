/** Where a byte sequence stops being UTF-8: the offending byte and its place (1-based line and column). */
export interface NotUtf8 {
  offset: number;
  byte: number;
  line: number;
  col: number;
}

/**
 * The bytes as UTF-8 text, or where they are not UTF-8. Never replaces a bad byte with U+FFFD:
 * a file read that way would be another file (a config rewritten, a name changed).
 */
export function decodeUtf8(bytes: Uint8Array): string | NotUtf8 {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    const offset = firstInvalidUtf8(bytes);
    const before = new TextDecoder('utf-8').decode(bytes.subarray(0, offset));
    const lineStart = before.lastIndexOf('\n') + 1;
    return { offset, byte: bytes[offset], line: before.split('\n').length, col: [...before.slice(lineStart)].length + 1 };
  }
}

/** `the file is not UTF-8 text (invalid byte 0xff at offset 35)`. */
export function notUtf8Message(problem: NotUtf8): string {
  return `the file is not UTF-8 text (invalid byte 0x${problem.byte.toString(16).padStart(2, '0')} at offset ${problem.offset})`;
}

/** Offset of the first byte that does not belong to a well-formed UTF-8 sequence. */
function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i];
    let n: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b < 0x80) n = 0;
    else if (b >= 0xc2 && b <= 0xdf) n = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      n = 2;
      if (b === 0xe0) lo = 0xa0;
      if (b === 0xed) hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      n = 3;
      if (b === 0xf0) lo = 0x90;
      if (b === 0xf4) hi = 0x8f;
    } else return i;
    for (let k = 1; k <= n; k++) {
      const c = bytes[i + k];
      if (c === undefined || c < (k === 1 ? lo : 0x80) || c > (k === 1 ? hi : 0xbf)) return i;
    }
    i += n + 1;
  }
  return i;
}
