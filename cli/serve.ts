import { resolve } from 'node:path';
import { UserError } from '../lib/errors';
import { cliServeSettings, runServe } from '../lib/targets/serve';
import { parseVerb, processIo, type Io } from './args';

const USAGE = `usage: nx-triton serve <repository> [--model NAME]... [--http-port N] [--grpc-port N] [--metrics-port N]
                       [--tritonserver PATH] [--python PATH]
Runs tritonserver on the repository (every model, or the --model ones and the models their
ensembles need) on 127.0.0.1 until Ctrl-C. Ports default to 8000 (HTTP) and free ports (gRPC,
metrics). The binary: --tritonserver, env NX_TRITON_SERVER, nx.json's "tritonserver" option,
tritonserver on PATH, or the server bundled in nvidia-pytriton of --python (env NX_TRITON_PYTHON,
nx.json's "python" option, default python3). nx.json: the nearest one up from the current directory.
It refuses, before starting, models whose backend the server lacks (nvidia-pytriton's has python only).
The repository may also be a bucket in Triton's form, s3://host:port/bucket/prefix (credentials from
AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE, as Triton reads them).`;

function port(text: string | undefined, flag: string, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n > 65535) throw new UserError(`${flag} must be a port number from 0 to 65535 (got ${JSON.stringify(text)})`);
  return n;
}

/** `nx-triton serve`: runs until SIGINT/SIGTERM; 0 when stopped so, 1 when the server failed. */
export async function run(argv: string[], io: Io = processIo): Promise<number> {
  const parsed = parseVerb(
    argv,
    {
      verb: 'serve',
      usage: USAGE,
      expected: 'one repository directory',
      options: {
        model: { type: 'string', multiple: true },
        'http-port': { type: 'string' },
        'grpc-port': { type: 'string' },
        'metrics-port': { type: 'string' },
        tritonserver: { type: 'string' },
        python: { type: 'string' },
      },
    },
    io,
  );
  if (typeof parsed === 'number') return parsed;
  const { values, positional } = parsed;
  try {
    // A directory, or a bucket in Triton's own form (s3://host:port/bucket/prefix, s3://bucket/prefix).
    const repository = positional.startsWith('s3://') ? positional : resolve(positional);
    await runServe(
      {
        repository,
        models: values.model,
        httpPort: port(values['http-port'], '--http-port', 8000),
        grpcPort: port(values['grpc-port'], '--grpc-port', 0),
        metricsPort: port(values['metrics-port'], '--metrics-port', 0),
        ...cliServeSettings({ tritonserver: values.tritonserver, python: values.python }),
      },
      { info: (line) => io.out(`${line}\n`), log: (line) => io.out(`${line}\n`) },
    );
    return 0;
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    io.err(`${err.message.startsWith('nx-triton') ? '' : 'nx-triton serve: '}${err.message}\n`);
    return 1;
  }
}
