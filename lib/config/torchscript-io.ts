import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SpecError, type Diagnostic } from '../errors';
import { RUNTIMES } from '../platforms';
import type { DataType, ModelConfig, ModelTensor } from '../model-config';
import type { ModelSpec } from '../model-spec/types';
import { childPath } from '../model-spec/context';
import { withLeadingKeys } from './key-order';
import { placed } from '../model-spec/positions';
import { TORCHSCRIPT_SIGNATURE_FILE } from '../layout';


export interface TorchScriptTensor {
  name: string;
  /** Triton type name (`TYPE_FP32`). */
  data_type: DataType;
  /** Full shape, batch dim included; null for a dynamic dim; null for the whole shape when its rank varies. */
  shape: Array<number | null> | null;
}

export interface TorchScriptSignature {
  inputs: TorchScriptTensor[];
  outputs: TorchScriptTensor[];
  /** The saved forward()'s argument names, `self` left out. */
  forward_args: string[];
}

/** The signature the export wrote into `exportDir`, if any. */
export function readTorchScriptSignature(exportDir: string): TorchScriptSignature | undefined {
  let text: string;
  try {
    text = readFileSync(join(exportDir, TORCHSCRIPT_SIGNATURE_FILE), 'utf8');
  } catch {
    return undefined;
  }
  const parsed = JSON.parse(text) as TorchScriptSignature;
  return Array.isArray(parsed.inputs) && Array.isArray(parsed.outputs) ? parsed : undefined;
}

/** Platforms/backends whose model file has no signature we can read: I/O comes from triton.yaml. */
export function hasNoReadableSignature(config: ModelConfig): boolean {
  // By platform (pytorch_libtorch), or by backend (pytorch, python): lib/platforms.ts's ioFromConfig.
  return RUNTIMES.some((r) => r.ioFromConfig && ((r.platform !== undefined && r.platform === config.platform) || r.backend === config.backend));
}

/** Triton's `<name>__<index>` convention (model_configuration.md, PyTorch backend). */
const NAMED_INDEX = /^(.+)__(\d+)$/;

type Kind = 'input' | 'output';

/**
 * The config's `input`/`output` for a model with no readable signature (TorchScript, python):
 * entries given in triton.yaml win; a TorchScript export's signature fills what is missing
 * (names from `input_shapes`/`output_names`, Triton dims: dynamic -1, batch dim dropped when
 * max_batch_size > 0) and is checked against what is given. Without either, a SpecError names the
 * missing key.
 */
export function torchScriptIo(spec: ModelSpec, config: ModelConfig, signature?: TorchScriptSignature): ModelConfig {
  const problems: Diagnostic[] = [];
  const error = (path: string, message: string) => void problems.push(placed(spec, path, message));
  const batching = typeof config.max_batch_size === 'number' && config.max_batch_size > 0;
  const out: ModelConfig = { ...config };
  for (const kind of ['input', 'output'] as const) {
    const given: ModelTensor[] | undefined = config[kind];
    const traced = signature?.[kind === 'input' ? 'inputs' : 'outputs'];
    if (!traced) {
      if (!given || given.length === 0) error(kind, missingMessage(spec, kind));
      else given.forEach((t, i) => checkComplete(kind, i, t, error));
      checkNamedIndex(kind, given ?? [], false, error);
      continue;
    }
    const merged = merge(kind, given, traced, batching, error);
    out[kind] = merged;
    checkNamedIndex(kind, merged, true, error);
  }
  if (problems.length > 0) throw new SpecError(problems);
  return withLeadingKeys(out);
}

function missingMessage(spec: ModelSpec, kind: Kind): string {
  const what = spec.config.backend === 'python' ? 'a python model' : 'a TorchScript model';
  const hint = spec.config.backend === 'python' ? '' : ', or export it with export.torch (input_shapes, output_names)';
  return `required: ${what} has no signature nx-triton can read; declare each ${kind} with name, data_type and dims${hint}`;
}

function checkComplete(kind: Kind, i: number, t: ModelTensor, error: (path: string, message: string) => void): void {
  if (t.data_type === undefined) error(`${kind}[${i}]`, `${kind} "${t.name}" needs data_type (there is no model signature to read it from)`);
  if (t.dims === undefined) error(`${kind}[${i}]`, `${kind} "${t.name}" needs dims (there is no model signature to read them from)`);
}

/**
 * With `NAME__i` names Triton maps tensor i of forward()'s arguments or results by that index: the
 * indices must be 0..n-1, and for what the export made (`atPosition`) equal to each one's position.
 */
function checkNamedIndex(kind: Kind, tensors: ModelTensor[], atPosition: boolean, error: (path: string, message: string) => void): void {
  const indexed = tensors.map((t) => NAMED_INDEX.exec(t.name ?? ''));
  if (!indexed.some(Boolean)) return;
  const seen = new Set<number>();
  tensors.forEach((t, i) => {
    const m = indexed[i];
    if (!m) {
      error(`${kind}[${i}].name`, `"${t.name}" does not follow the <name>__<index> convention its siblings use; name every ${kind} that way or none`);
      return;
    }
    const index = Number(m[2]);
    if (seen.has(index)) error(`${kind}[${i}].name`, `index ${index} of "${t.name}" is used twice`);
    else if (atPosition && index !== i) {
      const from = kind === 'input' ? 'input_shapes' : 'output_names';
      const at = kind === 'input' ? childPath('export.torch.input_shapes', m[0]) : `export.torch.output_names[${i}]`;
      error(at, `"${t.name}" is ${kind} ${i} of the exported module (export.torch.${from} order), but Triton would map it to index ${index}`);
    }
    seen.add(index);
  });
  const max = Math.max(...seen);
  if (seen.size === tensors.length && max !== tensors.length - 1) {
    error(kind, `the __<index> suffixes must run from 0 to ${tensors.length - 1}, got ${[...seen].sort((a, b) => a - b).join(', ')}`);
  }
}

function tritonDims(shape: Array<number | null>, batching: boolean): Pick<ModelTensor, 'dims' | 'reshape'> {
  const all = shape.map((d) => (d === null ? -1 : d));
  if (!batching) return { dims: all.length === 0 ? [1] : all };
  const dims = all.slice(1);
  return dims.length === 0 ? { dims: [1], reshape: { shape: [] } } : { dims };
}

function merge(
  kind: Kind,
  given: ModelTensor[] | undefined,
  traced: TorchScriptTensor[],
  batching: boolean,
  error: (path: string, message: string) => void,
): ModelTensor[] {
  const names = traced.map((t) => t.name);
  for (const [i, t] of (given ?? []).entries()) {
    if (!names.includes(t.name ?? '')) {
      error(`${kind}[${i}].name`, `${kind} "${t.name}" is not one the export made (${names.map((n) => `"${n}"`).join(', ')}); the names come from export.torch.${kind === 'input' ? 'input_shapes' : 'output_names'}`);
    }
  }
  return traced.map((t) => {
    const i = (given ?? []).findIndex((g) => g.name === t.name);
    const g = i >= 0 ? given![i] : undefined;
    const at = `${kind}[${i}]`;
    if (g?.data_type !== undefined && g.data_type !== t.data_type) {
      error(`${at}.data_type`, `${g.data_type} does not match the exported TorchScript module: ${kind} "${t.name}" is ${t.data_type}`);
    }
    if (t.shape === null) {
      if (g?.dims === undefined) error(g ? at : kind, `${kind} "${t.name}" changes rank with the input sizes; declare its dims`);
      return { ...(g ?? { name: t.name }), data_type: g?.data_type ?? t.data_type };
    }
    if (batching && t.shape.length > 0 && t.shape[0] !== null) {
      error('max_batch_size', `needs a dynamic first (batch) dim, but the exported ${kind} "${t.name}" has shape [${t.shape.join(', ')}] whatever the batch size; set max_batch_size: 0 or return a batched tensor`);
    }
    const derived = tritonDims(t.shape, batching);
    if (g?.dims !== undefined) {
      const want = (g.reshape?.shape ?? g.dims) as number[];
      const have = batching ? t.shape.slice(1) : t.shape;
      const clash = want.length !== have.length || want.some((d, j) => d !== -1 && have[j] !== null && have[j] !== d);
      if (clash) {
        error(`${at}.dims`, `[${g.dims.join(', ')}] does not match the exported TorchScript module: ${kind} "${t.name}" has shape [${t.shape.map((d) => d ?? '?').join(', ')}]${batching ? ' (batch dim first)' : ''}`);
      }
      return { ...g, data_type: g.data_type ?? t.data_type };
    }
    return { ...(g ?? {}), name: t.name, data_type: g?.data_type ?? t.data_type, ...derived };
  });
}
