import { UserError } from '../lib/errors';
import { runDeploy } from '../lib/targets/deploy';
import { parseVerb, processIo, type Io } from './args';

const USAGE = `usage: nx-triton deploy <built-repository> --to <repository> [--server URL]... [--model NAME]...
                        [--allow-http] [--dry-run]
Uploads the changed files of each model of the built repository (or of the --model ones and the
models their ensembles use) to --to: s3://host:port/bucket/prefix (Triton's form; s3://https://...
for TLS), s3://bucket/prefix on AWS, or a directory. Then, on each --server (Triton's HTTP endpoint,
explicit model control), loads each changed model, waits until it is ready and runs a smoke
inference; on any failure the model's previous files are put back and reloaded. Members go before
the ensembles that use them. Credentials: the AWS SDK's chain (AWS_ACCESS_KEY_ID and
AWS_SECRET_ACCESS_KEY, AWS_PROFILE, ...). --allow-http: plain http:// beyond loopback.`;

/** `nx-triton deploy`: 0 when every model is deployed (or unchanged), 1 when one failed, 2 for a usage error. */
export async function run(argv: string[], io: Io = processIo): Promise<number> {
  const parsed = parseVerb(
    argv,
    {
      verb: 'deploy',
      usage: USAGE,
      expected: 'one built repository directory',
      options: {
        to: { type: 'string' },
        server: { type: 'string', multiple: true },
        model: { type: 'string', multiple: true },
        'allow-http': { type: 'boolean' },
        'dry-run': { type: 'boolean' },
      },
    },
    io,
  );
  if (typeof parsed === 'number') return parsed;
  const { values, positional } = parsed;
  if (!values.to) {
    io.err(`nx-triton deploy: --to <repository> is required\n${USAGE}\n`);
    return 2;
  }
  try {
    await runDeploy({
      builtRepository: positional,
      to: values.to,
      servers: values.server ?? [],
      models: values.model,
      withMembers: true,
      allowHttp: values['allow-http'] ?? false,
      dryRun: values['dry-run'] ?? false,
      log: (line) => io.out(`${line}\n`),
    });
    return 0;
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    io.err(`${err.message.startsWith('nx-triton') ? err.message : `nx-triton deploy: ${err.message}`}\n`);
    return 1;
  }
}
