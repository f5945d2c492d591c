import { closeSync, constants, fstatSync, openSync, readFileSync, type Stats } from 'node:fs';

/** A path that is not a regular file where one is read (a FIFO would block, a device never ends). */
export class NotRegularFileError extends Error {
  readonly code = 'ENOTREG';
  constructor(readonly path: string, kind: string) {
    super(`not a regular file (${kind})`);
    this.name = 'NotRegularFileError';
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
 * The UTF-8 text of `path`, which must be a regular file (links are followed). It is opened
 * non-blocking and checked on the open descriptor, so a FIFO put in its place neither blocks the
 * open nor the read. Other failures are the fs errors (ENOENT, EACCES, ...).
 */
export function readRegularFile(path: string): string {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new NotRegularFileError(path, kindOf(st));
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}
