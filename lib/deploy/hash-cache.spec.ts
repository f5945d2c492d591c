import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sha256Cached } from './hash-cache';

const dir = mkdtempSync(join(tmpdir(), 'nx-triton-hash-cache-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const sha = (text: string) => createHash('sha256').update(text).digest('hex');

describe('sha256Cached', () => {
  it('never returns the digest of what a file held before it was rewritten in place, however quickly', async () => {
    const file = join(dir, 'model.py');
    const cache = join(dir, 'cache');
    for (let n = 0; n < 20; n++) {
      writeFileSync(file, `y = x + ${n % 10}\n`);
      expect(await sha256Cached(file, cache)).toBe(sha(`y = x + ${n % 10}\n`));
    }
  });

  it('reads a file again once it changes, also when its times were set back', async () => {
    const file = join(dir, 'weights.bin');
    const cache = join(dir, 'cache2');
    writeFileSync(file, 'one');
    const old = new Date(Date.now() - 10_000);
    utimesSync(file, old, old);
    // (ctime is now: the digest is only remembered once ctime is old too)
    expect(await sha256Cached(file, cache)).toBe(sha('one'));
    writeFileSync(file, 'two');
    expect(await sha256Cached(file, cache)).toBe(sha('two'));
  });
});
