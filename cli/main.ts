#!/usr/bin/env node
import { describeError, printable } from '../lib/errors';

type Verb = { run(argv: string[]): Promise<number> };

/**
 * Each verb lives in its own module, loaded only when asked for, and returns the exit code.
 * `require`, not `import()`: this is CommonJS, and the ESM loader would cost every call a few ms.
 */
const verbs: Record<string, { summary: string; load: () => Verb }> = {
  validate: {
    summary: 'validate <repository> [--config-only] [--json] [--triton-release YY.MM]   check a Triton repository as Triton would load it',
    load: () => require('./validate') as Verb,
  },
  fingerprint: {
    summary: "fingerprint [--json]   print this machine's GPU and TensorRT identity",
    load: () => require('./fingerprint') as Verb,
  },
  builder: {
    summary: 'builder [--host 127.0.0.1] [--port 8000] [--jobs N] ...   run a remote TensorRT engine builder',
    load: () => require('./builder') as Verb,
  },
  doctor: {
    summary: 'doctor [--python PATH] [--json]   what this machine will use (python, its packages, the exporter, tritonserver, trtexec, GPU, perf_analyzer) and how to get what is missing',
    load: () => require('./doctor') as Verb,
  },
  schema: { summary: 'schema   print the JSON Schema of triton.yaml (for editors)', load: () => require('./schema') as Verb },
  serve: {
    summary: 'serve <repository> [--model NAME]... [--http-port N] [--tritonserver PATH]   run tritonserver on a repository until Ctrl-C',
    load: () => require('./serve') as Verb,
  },
  inspect: { summary: 'inspect <model.onnx> [--json]   print an ONNX model\'s inputs and outputs', load: () => require('./inspect') as Verb },
  deploy: {
    summary: 'deploy <built-repository> --to <repository> [--server URL]... [--model NAME]...   upload changed models, load and smoke-check them, roll back on failure',
    load: () => require('./deploy') as Verb,
  },
  status: {
    summary: 'status --to <repository> [--server URL]...   compare deployed manifests with the repository and the servers',
    load: () => require('./status') as Verb,
  },
  tune: {
    summary: 'tune <repository> --model NAME [--spec triton.yaml] [--concurrency 1,8,32] [--latencyBudgetMs 50] [--dryRun] ...   measure serving configs with perf_analyzer, write the best',
    load: () => require('./tune') as Verb,
  },
};

function usage(): string {
  const lines = Object.entries(verbs).map(([, v]) => `  nx-triton ${v.summary}`);
  return ['usage:', ...lines].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  if (!verb || verb === '--help' || verb === '-h') {
    console.log(usage());
    return verb ? 0 : 1;
  }
  const entry = verbs[verb];
  if (!entry) {
    console.error(`nx-triton: unknown command "${verb}"\n${usage()}`);
    return 1;
  }
  return entry.load().run(rest);
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (err) => {
    console.error(printable(`nx-triton: ${describeError(err)}`));
    process.exitCode = 1;
  },
);
