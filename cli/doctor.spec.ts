import { describe, expect, it } from 'vitest';
import { run } from './doctor';

describe('nx-triton doctor arguments', () => {
  it('prints its usage with --help, and refuses an unknown option with exit 2', async () => {
    let out = '';
    let err = '';
    const io = { out: (t: string) => void (out += t), err: (t: string) => void (err += t) };
    expect(await run(['--help'], io)).toBe(0);
    expect(out).toMatch(/^usage: nx-triton doctor \[--python PATH\] \[--json\]\n/);
    expect(await run(['--pyton', 'x'], io)).toBe(2);
    expect(err).toMatch(/^nx-triton doctor: Unknown option '--pyton'/);
  });
});
