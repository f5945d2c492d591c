import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { TORCHSCRIPT_SIGNATURE_FILE, type TorchScriptSignature } from '../config/torchscript-io';
import { UserError } from '../errors';
import { packageRoot } from '../package-root';
import type { ModelSpec, TorchExport } from '../types';
import { torchFormat, type TorchFormat } from './filename';
import { resolveInsideProject } from './paths';
import { describeExit, runProcess } from './process';
import { pythonNotStarted } from './python';
import { exportError } from './where';

/** Exit codes of python/export_torch.py whose stderr is a message for the user. */
const EXIT_NO_TORCH = 3;
const EXIT_USER_ERROR = 4;
/** How the helper's one-line JSON result on stdout begins. */
const RESULT_LINE_START = '{"output_names"';

export interface TorchExportResult {
  format: TorchFormat;
  inputShapes: Record<string, Array<number | null>>;
  inputDtypes: Record<string, string>;
  outputNames: string[];
  torchVersion: string;
}

/** What python/export_torch.py reads. */
export interface TorchRequest {
  project_dir: string;
  model: string;
  kwargs: Record<string, unknown>;
  checkpoint: string | null;
  input_shapes: Record<string, Array<number | null>>;
  input_dtypes: Record<string, string>;
  output_names: string[];
  opset: number | null;
  format: TorchFormat;
  /** TorchScript by torch.jit.script instead of tracing (`export.torch.script`). */
  script: boolean;
  output: string;
  seed: number;
}

export function torchRequest(spec: ModelSpec, torch: TorchExport, output: string): TorchRequest {
  const script = (torch as TorchExport & { script?: boolean }).script === true;
  if (script && torchFormat(spec) !== 'torchscript') {
    throw exportError(spec, 'export.torch.script', 'script: true makes TorchScript, which only pytorch_libtorch serves; ONNX is always traced');
  }
  const inputShapes = torch.input_shapes ?? inputShapesFromConfig(spec);
  const inputDtypes: Record<string, string> = {};
  for (const input of spec.config.input ?? []) {
    if (input.data_type && input.name in inputShapes) inputDtypes[input.name] = input.data_type;
  }
  return {
    project_dir: spec.dir,
    model: torch.model,
    kwargs: torch.kwargs ?? {},
    checkpoint: torch.checkpoint ? resolveInsideProject(spec, torch.checkpoint, 'export.torch.checkpoint') : null,
    input_shapes: inputShapes,
    input_dtypes: inputDtypes,
    output_names: torch.output_names ?? (spec.config.output ?? []).map((o) => o.name),
    opset: torch.opset ?? null,
    format: torchFormat(spec),
    script,
    output,
    seed: 0,
  };
}

/** Without `input_shapes`, the config's inputs say it: -1 dims dynamic, a batch dim first when batching. */
function inputShapesFromConfig(spec: ModelSpec): Record<string, Array<number | null>> {
  const inputs = spec.config.input ?? [];
  if (inputs.length === 0 || inputs.some((i) => !i.dims)) {
    throw exportError(
      spec,
      'export.torch.input_shapes',
      'required when the inputs and their dims are not given (the example inputs\' shapes, e.g. { input: [null, 256] })',
    );
  }
  const batched = (spec.config.max_batch_size ?? 0) > 0;
  return Object.fromEntries(
    inputs.map((i) => [i.name, [...(batched ? [null] : []), ...(i.dims ?? []).map((d) => (d < 0 ? null : d))]]),
  );
}

/** Runs python/export_torch.py to write the model to `output`. */
export async function exportTorch(
  spec: ModelSpec,
  torch: TorchExport,
  output: string,
  python: string,
  onLine: (line: string) => void,
): Promise<TorchExportResult> {
  const request = torchRequest(spec, torch, output);
  const tmp = await mkdtemp(join(tmpdir(), 'nx-triton-export-'));
  try {
    const requestFile = join(tmp, 'request.json');
    await writeFile(requestFile, JSON.stringify(request, null, 2));
    const helper = join(packageRoot(), 'python', 'export_torch.py');
    const result = await runProcess(python, [helper, requestFile], {
      cwd: spec.dir,
      // The helper's result line is read below, not shown.
      onLine: (line) => line.startsWith(RESULT_LINE_START) || onLine(line),
      holdFrom: (line) => line.startsWith('nx-triton: '),
    });
    if (result.spawnError) throw pythonNotStarted(python, result);
    if (result.exitCode === EXIT_NO_TORCH || result.exitCode === EXIT_USER_ERROR) {
      const lines = result.stderr.split('\n');
      const first = lines.findIndex((l) => l.startsWith('nx-triton: '));
      throw new UserError(first >= 0 ? lines.slice(first).join('\n').trimEnd() : result.tail.join('\n'));
    }
    if (result.exitCode !== 0) {
      throw new UserError(
        `nx-triton: export.torch: the export helper (${python} ${helper}) ${describeExit(result)}:\n${result.tail.join('\n')}`,
      );
    }
    const last = result.stdout.trim().split('\n').pop() ?? '';
    let reply: { output_names?: string[]; torch_version?: string; signature?: TorchScriptSignature };
    try {
      reply = JSON.parse(last);
    } catch {
      throw new UserError(`nx-triton: export.torch: the export helper printed no result line (got ${JSON.stringify(last)})`);
    }
    // TorchScript has no signature we can read later: the build takes the I/O from this file.
    if (reply.signature) await writeFile(join(dirname(output), TORCHSCRIPT_SIGNATURE_FILE), `${JSON.stringify(reply.signature, null, 2)}\n`);
    return {
      format: request.format,
      inputShapes: request.input_shapes,
      inputDtypes: request.input_dtypes,
      outputNames: reply.output_names ?? request.output_names,
      torchVersion: reply.torch_version ?? 'unknown',
    };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
