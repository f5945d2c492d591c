import { describeError, UserError } from '../lib/errors';
import { formatOnnxSignature, onnxElemTypeName, readOnnxSignature } from '../lib/onnx';
import { parseOneArg, processIo, type Io } from './args';

const USAGE = 'usage: nx-triton inspect <model.onnx> [--json]';

/** `nx-triton inspect <model.onnx> [--json]`: 0 ok, 1 unreadable model, 2 usage error. */
export async function run(argv: string[], io: Io = processIo): Promise<number> {
  const parsed = parseOneArg(argv, { verb: 'inspect', usage: USAGE, flags: ['--json'], expected: 'one model file', dashIsArg: true }, io);
  if (typeof parsed === 'number') return parsed;
  const { arg: file, flags } = parsed;
  try {
    const sig = await readOnnxSignature(file);
    if (flags.has('--json')) {
      const named = (ts: typeof sig.inputs) => ts.map((t) => ({ ...t, elemTypeName: onnxElemTypeName(t.elemType) }));
      io.out(`${JSON.stringify({ ...sig, inputs: named(sig.inputs), outputs: named(sig.outputs), overridableInputs: named(sig.overridableInputs) }, null, 2)}\n`);
    } else io.out(formatOnnxSignature(file, sig));
    return 0;
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    io.err(`nx-triton: ${describeError(err)}\n`);
    return 1;
  }
}
