import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { TorchScriptSignature } from '../../config/torchscript-io';
import { TORCHSCRIPT_SIGNATURE_FILE, VERIFY_RECORD_FILE } from '../../layout';
import { UserError } from '../../errors';
import { packageRoot } from '../../system/package-root';
import { childPath, setOwn } from '../../model-spec/context';
import type { ExampleForm } from '../../model-spec/plugin-keys';
import type { ModelSpec, TorchExport, VerifySpec } from '../../model-spec/types';
import { packageMinimums } from '../../releases/python-packages';
import { torchFormat, type TorchFormat } from '../filename';
import { resolveInsideProject } from '../paths';
import { describeExit, runProcess } from '../../system/process';
import { pythonNotStarted } from '../../system/python';
import { exportError } from '../where';
import { opsetForRelease } from '../../releases/onnxruntime';
import { isTensorRt } from '../../platforms';
import type { ExportSource } from './source';

/** Exit codes of python/export_torch.py whose output is a message for the user. */
const EXIT_NO_TORCH = 3;
const EXIT_USER_ERROR = 4;
/** How the helper's one-line JSON reply on stdout begins. */
const REPLY_STARTS = ['{"result"', '{"error"'];

export interface TorchExportResult {
  format: TorchFormat;
  inputShapes: Record<string, Array<number | null>>;
  inputDtypes: Record<string, string>;
  outputNames: string[];
  torchVersion: string;
  /** The ONNX exporter that ran (`dynamo`, `torchscript`); undefined for TorchScript models. */
  exporter?: string;
  /** What the fidelity gate measured, as written to verify.json; undefined with `verify: false`. */
  verify?: VerifyRecord;
}

export interface VerifyRecord {
  runtime: string;
  cases: Array<{ inputs: Record<string, number[]>; outputs: Array<{ output: string; max_abs_err?: number; max_rel_err?: number | null }> }>;
  [key: string]: unknown;
}

/** A project file handed to the helper: its absolute path and how messages show it. */
interface RequestFile {
  path: string;
  shown: string;
}

type RequestValues = Exclude<ExampleForm, { npy: string }> | { npy: RequestFile };

/** One input of the request, in the order forward() takes them. */
interface RequestInput {
  name: string;
  shape: Array<number | null>;
  /** The input's `data_type` in `input:`, if given. */
  data_type: string | null;
  /** The `dtype` written with its example values, if any (it wins over `data_type`). */
  dtype: string | null;
  values: RequestValues | null;
  /** Where the input's name was written. */
  key: string;
  /** Where its example values (and dtype) were written. */
  values_key: string;
}

/** What python/export_torch.py reads. */
export interface TorchRequest {
  project_dir: string;
  model: string;
  kwargs: Record<string, unknown>;
  checkpoint: string | null;
  inputs: RequestInput[];
  /** `export.torch.input_names`: the inputs are forward()'s parameters in this order, passed by position. */
  input_names: string[] | null;
  /** max_batch_size > 0: a leading null in input_shapes is Triton's batch dim. */
  batched: boolean;
  output_names: string[];
  opset: number | null;
  format: TorchFormat;
  /** TorchScript by torch.jit.script instead of tracing (`export.torch.script`). */
  script: boolean;
  exporter: 'dynamo' | 'torchscript' | null;
  example_inputs_given: boolean;
  output: string;
  seed: number;
  /** The oldest version of each Python package the helper takes (lib/releases/python-packages.ts). */
  requirements: Record<string, string>;
  verify: null | { atol: number | null; rtol: number | null; batch_sizes: number[]; dim_sizes: number[] | null; samples: RequestFile | null };
}

export function torchRequest(spec: ModelSpec, torch: TorchExport, output: string): TorchRequest {
  const format = torchFormat(spec);
  const script = torch.script === true;
  if (script && format !== 'torchscript') {
    throw exportError(spec, 'export.torch.script', 'script: true makes TorchScript, which only pytorch_libtorch serves; ONNX is always traced');
  }
  if (torch.exporter && format !== 'onnx') {
    throw exportError(spec, 'export.torch.exporter', 'chooses the ONNX exporter; a pytorch_libtorch model is TorchScript (traced, or script: true)');
  }
  if (script && torch.input_names) {
    throw exportError(spec, 'export.torch.input_names', "names the traced module's inputs; a scripted module keeps forward()'s own parameter names");
  }
  const given = torch.input_shapes !== undefined;
  const configInputs = spec.config.input ?? [];
  const inputShapes = ordered(spec, torch.input_names, torch.input_shapes ?? inputShapesFromConfig(spec));
  if (given && configInputs.length > 0) {
    const names = configInputs.map((i) => i.name);
    for (const name of Object.keys(inputShapes)) {
      if (!names.includes(name)) {
        throw exportError(spec, childPath('export.torch.input_shapes', name), `"${name}" is not an input: of this model (input: names [${names.join(', ')}])`);
      }
    }
  }
  for (const name of Object.keys(torch.example_inputs ?? {})) {
    if (!Object.hasOwn(inputShapes, name)) {
      throw exportError(spec, childPath('export.torch.example_inputs', name), `"${name}" is not an input (inputs: ${Object.keys(inputShapes).join(', ')})`);
    }
  }
  const file = (path: string, key: string): RequestFile => ({ path: resolveInsideProject(spec, path, key), shown: path });
  const inputs = Object.entries(inputShapes).map(([name, shape]): RequestInput => {
    const index = configInputs.findIndex((i) => i.name === name);
    const example = torch.example_inputs && Object.hasOwn(torch.example_inputs, name) ? torch.example_inputs[name] : undefined;
    const valuesKey = childPath('export.torch.example_inputs', name);
    const values = example?.values;
    return {
      name,
      shape,
      data_type: index >= 0 ? (configInputs[index].data_type ?? null) : null,
      dtype: example?.dtype ?? null,
      values: values === undefined ? null : typeof values === 'object' && 'npy' in values ? { npy: file(values.npy, valuesKey) } : values,
      key: given ? childPath('export.torch.input_shapes', name) : torch.input_names ? 'export.torch.input_names' : `input[${index}].name`,
      values_key: valuesKey,
    };
  });
  const batched = (spec.config.max_batch_size ?? 0) > 0;
  return {
    project_dir: spec.dir,
    model: torch.model,
    kwargs: torch.kwargs ?? {},
    checkpoint: torch.checkpoint ? resolveInsideProject(spec, torch.checkpoint, 'export.torch.checkpoint') : null,
    inputs,
    input_names: torch.input_names ?? null,
    batched,
    output_names: torch.output_names ?? (spec.config.output ?? []).flatMap((o) => o.name ?? []),
    opset: torch.opset ?? (format === 'onnx' && !isTensorRt(spec.config) ? opsetForRelease(spec.tritonRelease) : undefined) ?? null,
    format,
    script,
    exporter: torch.exporter ?? null,
    example_inputs_given: torch.example_inputs !== undefined,
    output,
    seed: 0,
    requirements: packageMinimums(),
    verify: spec.verify === false ? null : verifyRequest(spec, spec.verify ?? {}, batched, file),
  };
}

/**
 * The inputs in the order forward() takes them: with `input_names`, that order (every name given a
 * shape, and no other); else the order the file lists them.
 */
function ordered(spec: ModelSpec, names: string[] | undefined, shapes: Record<string, Array<number | null>>): Record<string, Array<number | null>> {
  if (!names) return shapes;
  const missing = names.filter((n) => !Object.hasOwn(shapes, n));
  const extra = Object.keys(shapes).filter((n) => !names.includes(n));
  if (missing.length > 0 || extra.length > 0) {
    const from = spec.export && 'torch' in spec.export && spec.export.torch.input_shapes ? 'input_shapes' : 'input:';
    const problems = [...(missing.length ? [`${from} gives no shape for ${missing.map((n) => `"${n}"`).join(', ')}`] : []), ...(extra.length ? [`${extra.map((n) => `"${n}"`).join(', ')} in ${from} ${extra.length > 1 ? 'are' : 'is'} not in input_names`] : [])];
    throw exportError(spec, 'export.torch.input_names', `${problems.join('; ')} (input_names: [${names.join(', ')}])`);
  }
  const out: Record<string, Array<number | null>> = {};
  for (const n of names) setOwn(out, n, shapes[n]);
  return out;
}

/** The gate's batch sizes: as given, else 1, the largest preferred batch size and max_batch_size. */
export function verifyBatchSizes(spec: ModelSpec, verify: VerifySpec): number[] {
  const max = spec.config.max_batch_size ?? 0;
  if (verify.batch_sizes) {
    verify.batch_sizes.forEach((n, i) => {
      if (max > 0 && n > max) throw exportError(spec, `verify.batch_sizes[${i}]`, `${n} is larger than max_batch_size ${max}`);
    });
    return verify.batch_sizes;
  }
  const preferred = spec.config.dynamic_batching?.preferred_batch_size ?? [];
  const sizes = [1, Math.max(0, ...preferred.map(Number).filter((n) => Number.isInteger(n) && n <= max)), max];
  return [...new Set(sizes.filter((n) => n >= 1))].sort((a, b) => a - b);
}

function verifyRequest(spec: ModelSpec, verify: VerifySpec, batched: boolean, file: (path: string, key: string) => RequestFile): TorchRequest['verify'] {
  return {
    atol: verify.atol ?? null,
    rtol: verify.rtol ?? null,
    batch_sizes: batched ? verifyBatchSizes(spec, verify) : [1],
    dim_sizes: verify.dim_sizes ?? null,
    samples: verify.samples ? file(verify.samples, 'verify.samples') : null,
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
    inputs.map((i) => [i.name, [...(batched ? [null] : []), ...(i.dims ?? []).map(Number).map((d) => (d < 0 ? null : d))]]),
  );
}

/** Runs python/export_torch.py to write the model to `output` (and verify.json beside it). */
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
    const isReply = (line: string) => REPLY_STARTS.some((s) => line.startsWith(s));
    const result = await runProcess(python, [helper, requestFile], {
      cwd: spec.dir,
      // The helper's reply line is read below, not shown.
      onLine: (line) => isReply(line) || onLine(line),
      holdFrom: (line) => line.startsWith('nx-triton: '),
    });
    if (result.spawnError) throw pythonNotStarted(python, result);
    const last = result.stdout.trim().split('\n').pop() ?? '';
    let reply: { result?: HelperResult; error?: { key: string; message: string } } | undefined;
    try {
      reply = isReply(last) ? JSON.parse(last) : undefined;
    } catch {
      reply = undefined;
    }
    if (reply?.error && result.exitCode === EXIT_USER_ERROR) throw exportError(spec, reply.error.key, reply.error.message);
    if (result.exitCode === EXIT_NO_TORCH) {
      const lines = result.stderr.split('\n');
      const first = lines.findIndex((l) => l.startsWith('nx-triton: '));
      throw new UserError(first >= 0 ? lines.slice(first).join('\n').trimEnd() : result.tail.join('\n'));
    }
    if (result.exitCode !== 0 || !reply?.result) {
      throw new UserError(
        `nx-triton: export.torch: the export helper (${python} ${helper}) ${result.exitCode === 0 ? 'printed no result line' : describeExit(result)}:\n${result.tail.join('\n')}`,
      );
    }
    const done = reply.result;
    // TorchScript has no signature we can read later: the build takes the I/O from this file.
    if (done.signature) await writeFile(join(dirname(output), TORCHSCRIPT_SIGNATURE_FILE), `${JSON.stringify(done.signature, null, 2)}\n`);
    if (done.verify) await writeFile(join(dirname(output), VERIFY_RECORD_FILE), `${JSON.stringify(done.verify, null, 2)}\n`);
    return {
      format: request.format,
      inputShapes: Object.fromEntries(request.inputs.map((i) => [i.name, i.shape])),
      // The type each example tensor had (the helper resolves dtype, data_type, .npy, randint, fp32).
      inputDtypes: Object.fromEntries((done.inputs ?? []).map((i) => [i.name, i.data_type])),
      outputNames: done.output_names ?? request.output_names,
      torchVersion: done.torch_version ?? 'unknown',
      exporter: done.exporter,
      verify: done.verify,
    };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

interface HelperResult {
  output_names?: string[];
  inputs?: Array<{ name: string; data_type: string }>;
  torch_version?: string;
  exporter?: string;
  signature?: TorchScriptSignature;
  verify?: VerifyRecord;
}

/** `; verified at 3 input sizes, max abs err 1.2e-06` for the log line. */
function verifiedText(record: VerifyRecord | undefined): string {
  if (!record) return '';
  const errors = record.cases.flatMap((c) => c.outputs.map((o) => o.max_abs_err ?? 0));
  return `; verified at ${record.cases.length} input sizes, max abs err ${Math.max(0, ...errors).toPrecision(2)}`;
}

/** `export.torch`: a torch.nn.Module to ONNX or TorchScript (python/export_torch.py), compared with the module by the fidelity gate. */
export const torchSource: ExportSource<TorchExport> = {
  async run({ spec, source, output, python, onLine }) {
    const result = await exportTorch(spec, source, output, python, onLine);
    const how = result.exporter ? `${result.format} via ${result.exporter}` : result.format;
    return {
      what: `torch ${source.model} (${how}, torch ${result.torchVersion}${verifiedText(result.verify)})`,
      key: 'export.torch.model',
      expected:
        result.format === 'onnx'
          ? {
              inputs: Object.keys(result.inputShapes).map((name) => ({ name, dataType: result.inputDtypes[name] })),
              outputs: result.outputNames,
            }
          : undefined,
      gated: true,
    };
  },
};
