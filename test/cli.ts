import type { Io } from '../cli/args';

/** One CLI verb's run: its exit code and what it wrote on stdout and stderr. */
export async function runVerb(verb: (argv: string[], io: Io) => Promise<number>, argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await verb(argv, { out: (t) => void (out += t), err: (t) => void (err += t) });
  return { code, out, err };
}
