import { UserError } from '../lib/errors';
import { formatDoctor, runDoctor } from '../lib/targets/doctor';
import { parseVerb, processIo, type Io } from './args';

const USAGE = `usage: nx-triton doctor [--python PATH] [--json]
Says what this machine will use and why: the interpreter (--python, env NX_TRITON_PYTHON, nx.json's
"python" option, python3), its torch, numpy, onnx, onnxscript, onnxruntime and nvidia-pytriton
against python/requirements.txt, the ONNX exporter that follows, the tritonserver found and its
backends, trtexec, the GPU (nvidia-smi) and perf_analyzer; each missing piece with the command that
installs it. Exits 1 when the export toolchain is incomplete, else 0.`;

/** `nx-triton doctor`. */
export async function run(argv: string[], io: Io = processIo): Promise<number> {
  const parsed = parseVerb(argv, { verb: 'doctor', usage: USAGE, options: { python: { type: 'string' }, json: { type: 'boolean' } } }, io);
  if (typeof parsed === 'number') return parsed;
  const { values } = parsed;
  try {
    const report = await runDoctor({ python: values.python });
    io.out(values.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatDoctor(report).join('\n')}\n`);
    return report.ok ? 0 : 1;
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    io.err(`nx-triton doctor: ${err.message}\n`);
    return 1;
  }
}
