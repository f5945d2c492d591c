import { posix } from 'node:path';
import { UserError } from '../../lib/errors';
import { checkModelName } from '../../lib/model-spec/model-name';
import { didYouMean } from '../../lib/model-spec/suggest';
import { EXPORT_KINDS, type ExportKind } from '../../lib/model-spec/plugin-keys';

export const PLATFORMS = ['onnxruntime_onnx', 'tensorrt_plan', 'pytorch_libtorch', 'python', 'ensemble'] as const;
export type Platform = (typeof PLATFORMS)[number];
/** `--source`: the export sources (lib/model-spec/plugin-keys.ts EXPORT_SOURCES); files/spec scaffolds each one's section. */
export const SOURCES = EXPORT_KINDS;
export type Source = ExportKind;
export const INSTANCE_KINDS = ['gpu', 'cpu', 'model', 'auto'] as const;

export interface ModelGeneratorSchema {
  name: string;
  directory?: string;
  platform?: Platform;
  maxBatchSize?: number;
  /** `kind:count` entries; an entry may hold several, comma-separated (Nx splits `--instanceGroup=gpu:1,cpu:2` itself). */
  instanceGroup?: string[];
  from?: string;
  source?: Source;
  /** dynamic_batching on (default: on when maxBatchSize > 0). */
  dynamicBatching?: boolean;
  /** dynamic_batching.preferred_batch_size; an entry may hold several, comma-separated. */
  preferredBatchSize?: Array<number | string>;
  force?: boolean;
  skipFormat?: boolean;
}

export interface InstanceGroup {
  kind: string;
  count: number;
}

/** Checked options; `directory` is unset when it follows the name. */
export interface ModelOptions {
  name: string;
  directory?: string;
  platform: Platform;
  maxBatchSize?: number;
  instanceGroups: InstanceGroup[];
  from?: string;
  source?: Source;
  /** Whether the scaffold turns the dynamic batcher on, and its preferred batch sizes. */
  dynamicBatching: boolean;
  preferredBatchSizes: number[];
  force: boolean;
  skipFormat: boolean;
}

function fail(message: string): never {
  throw new UserError(message);
}

function oneOf<T extends string>(option: string, value: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  return fail(`--${option}: unknown value ${JSON.stringify(value)} (expected one of ${allowed.join(', ')})${didYouMean(value, allowed)}`);
}

/** `gpu:4`, `cpu`, `KIND_GPU:2` -> { kind: 'gpu', count }. */
export function parseInstanceGroup(entry: string): InstanceGroup {
  const text = entry.trim();
  const match = /^([^:]+)(?::(.*))?$/.exec(text);
  const rawKind = (match?.[1] ?? '').trim().toLowerCase().replace(/^kind_/, '');
  if (!(INSTANCE_KINDS as readonly string[]).includes(rawKind)) {
    fail(
      `--instanceGroup ${JSON.stringify(entry)}: unknown kind ${JSON.stringify(rawKind)} ` +
        `(expected kind:count with kind one of ${INSTANCE_KINDS.join(', ')}, e.g. gpu:4)${didYouMean(rawKind, INSTANCE_KINDS)}`,
    );
  }
  const rawCount = match?.[2]?.trim();
  if (rawCount === undefined) return { kind: rawKind, count: 1 };
  if (!/^[0-9]+$/.test(rawCount) || Number(rawCount) < 1 || !Number.isSafeInteger(Number(rawCount))) {
    fail(`--instanceGroup ${JSON.stringify(entry)}: count must be a positive integer (e.g. ${rawKind}:2)`);
  }
  return { kind: rawKind, count: Number(rawCount) };
}

function instanceGroups(value: ModelGeneratorSchema['instanceGroup']): InstanceGroup[] {
  if (value === undefined) return [];
  const entries = (Array.isArray(value) ? value : [value]).flatMap((v) => String(v).split(','));
  return entries.filter((e) => e.trim() !== '').map(parseInstanceGroup);
}

/** Workspace-relative, `/`-separated; never outside the workspace. */
export function normalizeDirectory(directory: string): string {
  const unified = directory.replace(/\\/g, '/');
  const normalized = posix.normalize(unified).replace(/\/+$/, '');
  if (posix.isAbsolute(unified) || normalized === '..' || normalized.startsWith('../') || normalized === '.' || normalized === '') {
    fail(`--directory ${JSON.stringify(directory)}: must be a directory inside the workspace, relative to its root`);
  }
  return normalized;
}

export function checkName(name: string): void {
  const problem = checkModelName(name);
  if (problem) fail(`Invalid model name: ${problem}`);
}

function preferredBatchSizes(value: ModelGeneratorSchema['preferredBatchSize'], maxBatchSize: number | undefined): number[] {
  if (value === undefined) return [];
  const entries = (Array.isArray(value) ? value : [value]).flatMap((v) => String(v).split(',')).map((e) => e.trim()).filter((e) => e !== '');
  const sizes: number[] = [];
  for (const entry of entries) {
    const size = Number(entry);
    if (!/^[0-9]+$/.test(entry) || size < 1 || !Number.isSafeInteger(size)) fail(`--preferredBatchSize ${JSON.stringify(entry)}: must be a positive integer`);
    // Triton: "dynamic batching preferred size must be <= max batch size" (lib/repository/rules/batching.ts).
    if (size > (maxBatchSize ?? 0)) {
      fail(`--preferredBatchSize ${size}: exceeds --maxBatchSize ${maxBatchSize ?? 0} (Triton forms batches up to max_batch_size)`);
    }
    if (sizes.includes(size)) fail(`--preferredBatchSize ${size}: listed twice`);
    sizes.push(size);
  }
  return sizes;
}

function dynamicBatching(schema: ModelGeneratorSchema, platform: Platform, preferred: number[]): boolean {
  const batched = (schema.maxBatchSize ?? 0) > 0;
  if (schema.dynamicBatching === undefined) return batched && platform !== 'ensemble';
  if (schema.dynamicBatching && platform === 'ensemble') fail('--dynamicBatching: an ensemble has no batcher of its own (its steps do)');
  if (schema.dynamicBatching && !batched) fail('--dynamicBatching: needs --maxBatchSize > 0 (Triton batches only models with max_batch_size > 0)');
  if (!schema.dynamicBatching && preferred.length > 0) fail('--preferredBatchSize: sets sizes for the dynamic batcher, which --dynamicBatching=false turns off');
  return schema.dynamicBatching;
}

export function normalizeModelOptions(schema: ModelGeneratorSchema): ModelOptions {
  const name = typeof schema.name === 'string' ? schema.name : '';
  checkName(name);
  const from = schema.from?.trim() || undefined;
  let platform = oneOf('platform', schema.platform ?? (from ? 'tensorrt_plan' : 'onnxruntime_onnx'), PLATFORMS);
  if (from) {
    if (platform !== 'tensorrt_plan') fail(`--from makes a TensorRT model: it cannot be used with --platform=${platform}`);
    if (schema.source !== undefined) fail('--from takes the model file of the other model: it cannot be used with --source');
    if (from === name) fail(`--from: a model cannot be built from itself (${name})`);
    platform = 'tensorrt_plan';
  }
  const source = schema.source === undefined ? undefined : oneOf('source', schema.source, SOURCES);
  if (platform === 'ensemble' && source !== undefined) fail('--source: an ensemble has no model file of its own');
  const groups = instanceGroups(schema.instanceGroup);
  if (platform === 'ensemble' && groups.length > 0) fail('--instanceGroup: an ensemble runs no instances of its own (its steps do)');
  if (platform === 'python' && (source === 'torch' || source === 'command')) {
    fail(`--source=${source}: a python backend model is its model.py (use --source=file or leave --source out)`);
  }
  const maxBatchSize = schema.maxBatchSize;
  if (maxBatchSize !== undefined && (!Number.isSafeInteger(maxBatchSize) || maxBatchSize < 0)) {
    fail(`--maxBatchSize: must be an integer >= 0 (got ${JSON.stringify(maxBatchSize)})`);
  }
  const preferred = preferredBatchSizes(schema.preferredBatchSize, maxBatchSize);
  if (platform === 'ensemble' && preferred.length > 0) fail('--preferredBatchSize: an ensemble has no batcher of its own (its steps do)');
  return {
    name,
    directory: schema.directory ? normalizeDirectory(schema.directory) : undefined,
    platform,
    maxBatchSize,
    instanceGroups: groups,
    from,
    source,
    dynamicBatching: dynamicBatching(schema, platform, preferred) || preferred.length > 0,
    preferredBatchSizes: preferred,
    force: schema.force === true,
    skipFormat: schema.skipFormat === true,
  };
}
