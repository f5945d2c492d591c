import { parseArgs } from 'node:util';
import { TOKEN_ENV, tokenRefusal } from '../lib/engine/remote/auth';
import { describeBuilder, probeBuilder, type BuilderInfo } from '../lib/engine/remote/client';
import { formatFingerprint, readFingerprint } from '../lib/engine/fingerprint';
import { describeError } from '../lib/errors';
import { loadSpec } from '../lib/model-spec';

const USAGE = 'usage: nx-triton fingerprint [--json] [--builders-of <triton.yaml>]';

/**
 * `nx-triton fingerprint [--json] [--builders-of <triton.yaml>]`: this machine's GPU and TensorRT
 * identity, and with --builders-of that of each builder the spec's `tensorrt.builders` names
 * (the engine target's Nx cache key). Always exits 0 once its arguments are right.
 */
export async function run(argv: string[]): Promise<number> {
  let buildersOf: string | undefined;
  let json = false;
  const { tokens } = parseArgs({ args: argv, options: { json: { type: 'boolean' }, 'builders-of': { type: 'string' } }, strict: false, allowPositionals: true, tokens: true });
  for (const t of tokens) {
    if (t.kind === 'option' && t.name === 'json' && t.rawName === '--json' && t.value === undefined) json = true;
    else if (t.kind === 'option' && t.name === 'builders-of' && t.value !== undefined) buildersOf = t.value;
    else {
      console.error(`nx-triton fingerprint: unknown argument "${argv[t.index]}" (${USAGE})`);
      return 1;
    }
  }
  const [fp, builders] = await Promise.all([readFingerprint(), buildersOf === undefined ? undefined : probeBuildersOf(buildersOf)]);
  if (json) {
    console.log(JSON.stringify(builders === undefined ? fp : { ...fp, builders }, null, 2));
  } else {
    console.log(formatFingerprint(fp));
    for (const b of builders ?? []) console.log(`builder ${describeBuilder(b)}`);
  }
  return 0;
}

/** The builders of a triton.yaml, each asked once, briefly: an unreachable one reads as such. */
async function probeBuildersOf(file: string): Promise<BuilderInfo[]> {
  let urls: string[];
  try {
    urls = loadSpec(file).tensorrt?.builders ?? [];
  } catch (err) {
    return [{ url: file, error: `cannot read its builders: ${describeError(err).split('\n')[0]}` }];
  }
  const token = process.env[TOKEN_ENV]?.trim() || undefined;
  // Never send the token where the engine target would not (issue 13.4): such a builder reads as refused.
  const infos = await Promise.all(
    urls.map((url): Promise<BuilderInfo> => {
      const refusal = token === undefined ? undefined : tokenRefusal(url);
      return refusal ? Promise.resolve({ url, error: 'refused' }) : probeBuilder(url, { token, timeoutMs: 5000, retry: { retries: 1, backoffMs: 200 } });
    }),
  );
  // Only what decides the engine: the upload limit is not part of the cache key.
  return infos.map((b) => (b.fingerprint ? { url: b.url, fingerprint: b.fingerprint } : { url: b.url, error: b.error === 'refused' ? 'refused' : 'unreachable' }));
}
