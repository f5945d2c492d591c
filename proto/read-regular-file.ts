import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { decodeUtf8, notUtf8Message } from '../lib/system/text';

/**
 * The largest config.pbtxt read. Triton's own configs are kilobytes (an ensemble of hundreds of
 * steps, a model with a thousand inputs: well under 1 MiB); a 700 MB one cost 1.1 GB of memory to
 * parse (issue 22, F11). A file above it is refused before any of it is read.
 */
export const MAX_CONFIG_BYTES = 16 * 2 ** 20;

/** A config.pbtxt that cannot be read as text: not a regular file, too large, or not UTF-8. */
export class ConfigFileError extends Error {
  readonly code = 'ENOTREG';
  constructor(
    readonly path: string,
    message: string,
    /** Where in the file, for a problem at a byte. */
    readonly line?: number,
    readonly col?: number,
  ) {
    super(message);
    this.name = 'ConfigFileError';
  }
}

function kindOf(st: Stats): string {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isDirectory()) return 'a directory';
  return 'not a file';
}

/**
 * The UTF-8 text of `path`, which must be a regular file of at most `maxBytes` (links are
 * followed). It is opened non-blocking and checked on the open descriptor, so a FIFO put in its
 * place neither blocks the open nor the read. Bytes that are not UTF-8 are refused with their
 * place, never read as U+FFFD. Other failures are the fs errors (ENOENT, EACCES, ...).
 */
export function readRegularFile(path: string, maxBytes = MAX_CONFIG_BYTES): string {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new ConfigFileError(path, `not a regular file (${kindOf(st)})`);
    if (st.size > maxBytes) {
      throw new ConfigFileError(path, `the file is ${st.size} bytes; a config.pbtxt may be at most ${maxBytes} bytes (${maxBytes / 2 ** 20} MiB)`);
    }
    // Read at most one byte past the size seen: a file growing under us cannot pass the cap.
    const buffer = Buffer.alloc(st.size + 1);
    let length = 0;
    for (let n; length < buffer.length && (n = readSync(fd, buffer, length, buffer.length - length, null)) > 0; ) length += n;
    if (length > st.size) throw new ConfigFileError(path, 'the file grew while it was read');
    const text = decodeUtf8(buffer.subarray(0, length));
    if (typeof text !== 'string') throw new ConfigFileError(path, notUtf8Message(text), text.line, text.col);
    return text;
  } finally {
    closeSync(fd);
  }
}
