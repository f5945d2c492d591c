import { describeError, UserError } from '../lib/errors';
import { formatOnnxSignature, onnxElemTypeName, readOnnxSignature } from '../lib/onnx';

const USAGE = 'usage: nx-triton inspect <model.onnx> [--json]';

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

const processIo: Io = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

/** `nx-triton inspect <model.onnx> [--json]`: 0 ok, 1 unreadable model, 2 usage error. */
export async function run(argv: string[], io: Io = processIo): Promise<number> {
  let json = false;
  const files: string[] = [];
  for (const arg of argv) {
    if (arg === '--json') json = true;
    else if (arg === '--help' || arg === '-h') {
      io.out(`${USAGE}\n`);
      return 0;
    } else if (arg.startsWith('-') && arg !== '-') {
      io.err(`nx-triton inspect: unknown option ${arg}\n${USAGE}\n`);
      return 2;
    } else files.push(arg);
  }
  if (files.length !== 1) {
    io.err(`nx-triton inspect: expected one model file, got ${files.length}\n${USAGE}\n`);
    return 2;
  }
  const [file] = files;
  try {
    const sig = await readOnnxSignature(file);
    if (json) {
      const named = (ts: typeof sig.inputs) => ts.map((t) => ({ ...t, elemTypeName: onnxElemTypeName(t.elemType) }));
      io.out(`${JSON.stringify({ ...sig, inputs: named(sig.inputs), outputs: named(sig.outputs) }, null, 2)}\n`);
    } else io.out(formatOnnxSignature(file, sig));
    return 0;
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    io.err(`nx-triton: ${describeError(err)}\n`);
    return 1;
  }
}
