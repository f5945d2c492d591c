#!/usr/bin/env node
import { describeError } from '../lib/errors';

/** Each verb lives in its own module and returns the exit code. */
const verbs: Record<string, { summary: string; load: () => Promise<{ run(argv: string[]): Promise<number> }> }> = {
  validate: {
    summary: 'validate <repository> [--config-only] [--json]   check a Triton repository as Triton would load it',
    load: () => import('./validate.js'),
  },
  fingerprint: {
    summary: "fingerprint [--json]   print this machine's GPU and TensorRT identity",
    load: () => import('./fingerprint.js'),
  },
  builder: {
    summary: 'builder [--host 127.0.0.1] [--port 8000] [--jobs N] ...   run a remote TensorRT engine builder',
    load: () => import('./builder.js'),
  },
  inspect: { summary: 'inspect <model.onnx> [--json]   print an ONNX model\'s inputs and outputs', load: () => import('./inspect.js') },
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
  return (await entry.load()).run(rest);
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (err) => {
    console.error(`nx-triton: ${describeError(err)}`);
    process.exitCode = 1;
  },
);
