import { UserError } from '../lib/errors';
import { runStatus } from '../lib/targets/status';
import { parseVerb, processIo, type Io } from './args';

const USAGE = `usage: nx-triton status --to <repository> [--server URL]... [--allow-http]
Compares each model's deployed manifest with the repository's files and with what every --server
has loaded (its index and each model's config). Prints a line per model that matches; exits 0 when
everything matches, 1 with one line per difference (on stderr) otherwise.`;

/** `nx-triton status`: 0 when everything matches, 1 when something differs (or cannot be read), 2 for a usage error. */
export async function run(argv: string[], io: Io = processIo): Promise<number> {
  const parsed = parseVerb(
    argv,
    {
      verb: 'status',
      usage: USAGE,
      options: { to: { type: 'string' }, server: { type: 'string', multiple: true }, 'allow-http': { type: 'boolean' } },
    },
    io,
  );
  if (typeof parsed === 'number') return parsed;
  const { values } = parsed;
  if (!values.to) {
    io.err(`nx-triton status: --to <repository> is required\n${USAGE}\n`);
    return 2;
  }
  try {
    const result = await runStatus({ to: values.to, servers: values.server ?? [], allowHttp: values['allow-http'] ?? false, log: (line) => io.out(`${line}\n`) });
    for (const line of result.differences) io.err(`${line}\n`);
    if (result.models.length === 0) io.out(`nx-triton status: no models in ${values.to}\n`);
    return result.differences.length === 0 ? 0 : 1;
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    io.err(`${err.message.startsWith('nx-triton') ? err.message : `nx-triton status: ${err.message}`}\n`);
    return 1;
  }
}
