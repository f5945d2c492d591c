import { UserError } from '../errors';
import type { ModelTensor, TensorRtSpec } from '../types';

/** min / opt / max shape of one input (batch dim included when batching). */
export interface ShapeRange {
  min: number[];
  opt: number[];
  max: number[];
}

/** One optimization profile: input name -> its shape range. Only inputs with a dynamic dim appear. */
export type Profile = Record<string, ShapeRange>;

export interface TrtexecArgsOptions {
  /** `major.minor.patch[.build]` of the trtexec that will run. */
  trtVersion: string;
  onnxPath: string;
  planPath: string;
  /** The model's inputs as in its ModelConfig (dims without the batch dim when batching). */
  inputs: ModelTensor[];
  /** ModelConfig `max_batch_size`; 0 = no batch dim. */
  maxBatchSize: number;
  /** Default opt batch (e.g. the largest `dynamic_batching.preferred_batch_size`); else max_batch_size. */
  optBatchSize?: number;
  tensorrt?: TensorRtSpec;
  timingCachePath?: string;
  /** triton.yaml as it should appear in messages. */
  specFile?: string;
}

type Version = [number, number, number];

/**
 * Release range of each flag we may emit: first release that has it, last release that has it
 * (null = still there). Facts: samples/common/sampleOptions.cpp at each TensorRT OSS tag.
 */
export const FLAG_RELEASES: Record<string, [string, string | null]> = {
  '--onnx': ['6.0.1', null],
  '--saveEngine': ['6.0.1', null],
  '--minShapes': ['6.0.1', null],
  '--optShapes': ['6.0.1', null],
  '--maxShapes': ['6.0.1', null],
  '--profile': ['9.1.0', null],
  '--skipInference': ['8.6.0', null],
  '--memPoolSize': ['8.4.1', null],
  '--builderOptimizationLevel': ['8.6.0', null],
  '--hardwareCompatibilityLevel': ['8.6.0', null],
  '--versionCompatible': ['8.6.0', null],
  '--timingCacheFile': ['8.0.1', null],
  '--stronglyTyped': ['9.1.0', null],
  '--fp16': ['6.0.1', '10.16'],
  '--bf16': ['9.1.0', '10.16'],
  '--int8': ['6.0.1', '10.16'],
  '--fp8': ['8.6.0', '10.16'],
  '--int4': ['10.1.0', '10.16'],
  '--best': ['7.1.3', '10.16'],
};

const PRECISIONS = ['fp32', 'fp16', 'bf16', 'int8', 'fp8', 'int4', 'best', 'strongly_typed'];
const HW_LEVELS: Record<string, { flag: string; since: string }> = {
  none: { flag: 'none', since: '8.6.0' },
  'ampere+': { flag: 'ampere+', since: '8.6.0' },
  same_compute_capability: { flag: 'sameComputeCapability', since: '10.10.0' },
};
/** Flags whose value is a path: left out of the options that go into the engine key. */
const PATH_FLAGS = ['--onnx', '--saveEngine', '--timingCacheFile'];

export function parseTrtVersion(text: string): Version {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(text);
  if (!m) throw new UserError(`unrecognised TensorRT version "${text}"`);
  return [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
}

function cmp(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d) return d;
  }
  return 0;
}

const nums = (v: string): number[] => v.split('.').map(Number);

/** Whether trtexec of version `v` accepts `flag` (only for the flags in FLAG_RELEASES). */
export function hasFlag(flag: string, v: Version): boolean {
  const range = FLAG_RELEASES[flag];
  if (!range) throw new Error(`nx-triton: no release range for trtexec flag ${flag}`);
  const [first, last] = range;
  if (cmp(v, nums(first)) < 0) return false;
  if (last === null) return true;
  const l = nums(last);
  return cmp(v.slice(0, l.length), l) <= 0;
}

/** The trtexec argv that builds `planPath` from `onnxPath`, for the installed TensorRT. */
export function trtexecArgs(o: TrtexecArgsOptions): string[] {
  const v = parseTrtVersion(o.trtVersion);
  const where = o.specFile ? `${o.specFile}: ` : '';
  const fail = (path: string, msg: string): never => {
    throw new UserError(`${where}${path}: ${msg}`);
  };
  if (cmp(v, [8, 6]) < 0) {
    throw new UserError(`${where}TensorRT ${o.trtVersion} is too old: nx-triton builds engines with TensorRT 8.6 or newer`);
  }
  const trt = o.tensorrt ?? {};
  const args = [`--onnx=${o.onnxPath}`, `--saveEngine=${o.planPath}`];

  // Without a dynamic dim anywhere there is nothing to give trtexec.
  const profiles = resolveProfiles(o).filter((p) => Object.keys(p).length > 0);
  if (profiles.length > 1 && !hasFlag('--profile', v)) {
    fail('tensorrt.profiles', `several optimization profiles need TensorRT 9.1 or newer (trtexec --profile); this machine has ${o.trtVersion}`);
  }
  profiles.forEach((p, i) => {
    if (profiles.length > 1) args.push(`--profile=${i}`);
    for (const sel of ['min', 'opt', 'max'] as const) {
      args.push(`--${sel}Shapes=${Object.entries(p).map(([name, r]) => `${name}:${shapeText(r[sel])}`).join(',')}`);
    }
  });

  for (const p of precisionList(trt.precision, fail)) {
    if (p === 'fp32') continue;
    if (v[0] >= 11 && p === 'strongly_typed') continue; // the default from 11.0 (the flag is a no-op there)
    if (v[0] >= 11) {
      fail(
        'tensorrt.precision',
        `"${p}" cannot be used with TensorRT ${o.trtVersion}: TensorRT 11 builds strongly typed networks only and removed ` +
          `--fp16/--bf16/--int8/--fp8/--int4/--best. Put the precision into the ONNX instead (e.g. ` +
          `python -m modelopt.onnx.autocast --onnx_path model.onnx --output_path model_fp16.onnx, or explicit Q/DQ nodes for int8) ` +
          `and remove tensorrt.precision`,
      );
    }
    const flag = p === 'strongly_typed' ? '--stronglyTyped' : `--${p}`;
    if (!hasFlag(flag, v)) fail('tensorrt.precision', `"${p}" needs TensorRT ${FLAG_RELEASES[flag][0]} or newer; this machine has ${o.trtVersion}`);
    args.push(flag);
  }
  if (args.includes('--stronglyTyped') && args.some((a) => FLAG_RELEASES[a]?.[1] === '10.16')) {
    fail('tensorrt.precision', 'strongly_typed cannot be combined with precision flags (the ONNX types decide)');
  }

  if (trt.workspace !== undefined) {
    const mib = workspaceMiB(trt.workspace, fail);
    args.push(v[0] >= 10 ? `--memPoolSize=workspace:${mib}M` : `--memPoolSize=workspace:${mib}`);
  }
  if (trt.builder_optimization_level !== undefined) {
    const level = trt.builder_optimization_level;
    if (!Number.isInteger(level) || level < 0 || level > 5) fail('tensorrt.builder_optimization_level', `expected an integer from 0 to 5, got ${JSON.stringify(level)}`);
    args.push(`--builderOptimizationLevel=${level}`);
  }
  if (trt.hardware_compatibility !== undefined) {
    const level = HW_LEVELS[String(trt.hardware_compatibility)];
    if (!level) fail('tensorrt.hardware_compatibility', `unknown value ${JSON.stringify(trt.hardware_compatibility)} (expected one of ${Object.keys(HW_LEVELS).join(', ')})`);
    if (cmp(v, nums(level.since)) < 0) fail('tensorrt.hardware_compatibility', `${trt.hardware_compatibility} needs TensorRT ${level.since} or newer; this machine has ${o.trtVersion}`);
    if (level.flag !== 'none') args.push(`--hardwareCompatibilityLevel=${level.flag}`);
  }
  if (trt.version_compatible !== undefined && typeof trt.version_compatible !== 'boolean') {
    fail('tensorrt.version_compatible', `expected true or false, got ${JSON.stringify(trt.version_compatible)}`);
  }
  if (trt.version_compatible) args.push('--versionCompatible');
  if (o.timingCachePath) args.push(`--timingCacheFile=${o.timingCachePath}`);
  args.push('--skipInference');
  return args;
}

/** The build options that decide the engine: the argv without the paths it reads and writes. */
export function normalisedOptions(args: string[]): string[] {
  return args.filter((a) => !PATH_FLAGS.includes(a.split('=')[0]));
}

/** Largest batch the profiles allow, as Triton's TensorRT backend computes it; 0 without batching. */
export function profileMaxBatch(profiles: Profile[], maxBatchSize: number): number {
  if (maxBatchSize === 0) return 0;
  let best = 0;
  for (const p of profiles) {
    const perInput = Object.values(p).map((r) => r.max[0]);
    if (perInput.length) best = Math.max(best, Math.min(...perInput));
  }
  return best;
}

/**
 * The optimization profiles (`tensorrt.profiles`: a list, or a map for one profile):
 *   - { <input>: { min: [dims], opt: [dims], max: [dims] } } per profile;
 *   - dims written like the config's (no batch dim; the batch dim is then 1 / opt / max_batch_size),
 *     or as the full engine shape with the batch dim first, to choose the batch range too;
 *   - static dims repeated as they are; an input with no dynamic dim other than the batch may be left out.
 */
export function resolveProfiles(o: TrtexecArgsOptions): Profile[] {
  const where = o.specFile ? `${o.specFile}: ` : '';
  const fail = (path: string, msg: string): never => {
    throw new UserError(`${where}${path}: ${msg}`);
  };
  const raw = o.tensorrt?.profiles;
  const given: unknown[] = raw === undefined || raw === null ? [{}] : Array.isArray(raw) ? raw : [raw];
  if (given.length === 0) fail('tensorrt.profiles', 'expected at least one profile');
  const batching = o.maxBatchSize > 0;
  const batch = { min: 1, opt: Math.min(o.optBatchSize ?? o.maxBatchSize, o.maxBatchSize), max: o.maxBatchSize };
  const names = new Set(o.inputs.map((t) => t.name));

  return given.map((entry, i) => {
    const path = Array.isArray(raw) ? `tensorrt.profiles[${i}]` : 'tensorrt.profiles';
    if (!isPlainObject(entry)) return fail(path, 'expected a map of input name -> { min, opt, max }');
    for (const key of Object.keys(entry)) {
      if (!names.has(key)) fail(`${path}.${key}`, `no input named "${key}" (inputs: ${[...names].join(', ') || 'none'})`);
    }
    const profile: Profile = {};
    for (const input of o.inputs) {
      if (input.name.includes(',')) fail(`input ${input.name}`, 'trtexec cannot take a shape for an input name with a comma');
      const dims = (input.reshape?.shape ?? input.dims ?? []).map(Number);
      const full = batching ? [-1, ...dims] : dims;
      const range = entry[input.name];
      if (range === undefined) {
        if (dims.some((d) => d < 0)) {
          fail(path, `input "${input.name}" has dynamic dims [${dims.join(', ')}] but no range: add ${input.name}: { min: [...], opt: [...], max: [...] }`);
        }
        if (batching) profile[input.name] = { min: [batch.min, ...dims], opt: [batch.opt, ...dims], max: [batch.max, ...dims] };
        continue;
      }
      const ipath = `${path}.${input.name}`;
      if (!isPlainObject(range)) return fail(ipath, 'expected { min: [dims], opt: [dims], max: [dims] }');
      const sel = (k: 'min' | 'opt' | 'max'): number[] => {
        const value = range[k];
        const lengths = batching ? `${dims.length} (without the batch dim) or ${full.length} (with it)` : `${dims.length}`;
        if (!Array.isArray(value) || !value.every((d) => Number.isInteger(d) && d >= 0) || (value.length !== dims.length && value.length !== full.length)) {
          return fail(`${ipath}.${k}`, `expected ${lengths} non-negative integers for the dims [${dims.join(', ')}]`);
        }
        const shape = value.length === full.length ? (value as number[]) : [batch[k], ...(value as number[])];
        shape.forEach((d, j) => {
          if (full[j] >= 0 && d !== full[j]) fail(`${ipath}.${k}`, `dim ${j} of the engine shape is fixed at ${full[j]}, got ${d}`);
          if (batching && j === 0 && d < 1) fail(`${ipath}.${k}`, `the batch dim must be at least 1, got ${d}`);
        });
        return shape;
      };
      const [min, opt, max] = [sel('min'), sel('opt'), sel('max')];
      full.forEach((_, j) => {
        if (!(min[j] <= opt[j] && opt[j] <= max[j])) fail(ipath, `dim ${j}: expected min <= opt <= max, got ${min[j]} / ${opt[j]} / ${max[j]}`);
      });
      profile[input.name] = { min, opt, max };
    }
    return profile;
  });
}

function precisionList(p: unknown, fail: (path: string, msg: string) => never): string[] {
  if (p === undefined || p === null) return [];
  const items = Array.isArray(p) ? p.map(String) : String(p).split(/[+,\s]+/).filter(Boolean);
  for (const item of items) {
    if (!PRECISIONS.includes(item)) fail('tensorrt.precision', `unknown value ${JSON.stringify(item)} (expected one of ${PRECISIONS.join(', ')})`);
  }
  return [...new Set(items)];
}

/** `workspace: 4096` (MiB), `"4G"`, `"512MiB"` -> whole MiB. */
export function workspaceMiB(w: string | number, fail: (path: string, msg: string) => never): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:([KMGT])(?:i?B)?|(B))?\s*$/i.exec(String(w));
  if (!m) return fail('tensorrt.workspace', `expected a size such as 4096 (MiB), "512M" or "4G", got ${JSON.stringify(w)}`);
  const unit = m[3] ? 'B' : (m[2] ?? 'M').toUpperCase();
  const scale: Record<string, number> = { B: 1 / 2 ** 20, K: 1 / 1024, M: 1, G: 1024, T: 1024 * 1024 };
  const mib = Math.ceil(Number(m[1]) * scale[unit]);
  if (mib < 1) fail('tensorrt.workspace', `expected at least 1 MiB, got ${JSON.stringify(w)}`);
  return mib;
}

function shapeText(dims: number[]): string {
  return dims.length === 0 ? 'scalar' : dims.join('x');
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
