import { formatFingerprint, readFingerprint } from '../lib/engine/fingerprint';

/** `nx-triton fingerprint [--json]`: this machine's GPU and TensorRT identity; always exits 0. */
export async function run(argv: string[]): Promise<number> {
  const unknown = argv.filter((a) => a !== '--json');
  if (unknown.length) {
    console.error(`nx-triton fingerprint: unknown argument "${unknown[0]}" (usage: nx-triton fingerprint [--json])`);
    return 1;
  }
  const fp = await readFingerprint();
  console.log(argv.includes('--json') ? JSON.stringify(fp, null, 2) : formatFingerprint(fp));
  return 0;
}
