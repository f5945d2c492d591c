import type { Node } from 'yaml';
import { allHardwareLevels, allPrecisions } from '../releases/tensorrt';
import { tritonReleaseProblem } from '../releases/triton';
import { SpecError, type Diagnostic } from '../errors';
import type { EngineRequest, ModelConfig, ModelSpec, Profile, ShapeRange } from '../types';
import { describe, isScalar, setOwn, SpecContext, WalkAborted } from './context';
import type { KeySchema } from './plugin-schema';
import { didYouMean } from './suggest';
import { checkKeys, expectBool, expectInt, expectList, expectMap, expectString } from './values';
import { parseYaml } from './yaml-source';

/** Precisions some TensorRT release offers (lib/releases/trt-releases.json; fp32 = no flag). */
export const PRECISIONS = allPrecisions();

/** Hardware-compatibility levels some TensorRT release offers (lib/releases/trt-releases.json). */
export const HARDWARE_COMPATIBILITY = allHardwareLevels();

const UNITS: Record<string, number> = {
  b: 1 / (1024 * 1024),
  k: 1 / 1024,
  kb: 1 / 1024,
  kib: 1 / 1024,
  m: 1,
  mb: 1,
  mib: 1,
  g: 1024,
  gb: 1024,
  gib: 1024,
  t: 1024 * 1024,
  tb: 1024 * 1024,
  tib: 1024 * 1024,
};

/**
 * `tensorrt.workspace` in MiB: a number is MiB, a string carries a unit
 * ("4GiB", "512MiB", "512 M"; K/M/G are base 2 as in trtexec). Undefined when malformed.
 */
export function workspaceMiB(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value > 0 ? value : undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$/.exec(value);
  if (!m) return undefined;
  const unit = m[2] === '' ? 1 : UNITS[m[2].toLowerCase()];
  const mib = unit === undefined ? undefined : Number(m[1]) * unit;
  return mib !== undefined && mib > 0 && Number.isFinite(mib) ? mib : undefined;
}

/** A profile's dims in the editor schema. */
const DIMS = { type: 'array', items: { type: 'integer', minimum: 0, maximum: 2 ** 31 - 1 } };

/** What a key's `request` gets: the model's side of the build, and how to refuse a value. */
export interface RequestContext {
  inputs: NonNullable<ModelConfig['input']>;
  maxBatchSize: number;
  optBatchSize: number | undefined;
  fail: (path: string, message: string) => never;
}

/**
 * One tensorrt: key. `check` reads its triton.yaml value (undefined after reporting a problem);
 * its return type is the key's type in TensorRtSpec; a remote builder runs the same check on the
 * request's value (checkRemoteTensorRt). `request` is what the checked value (undefined when the
 * key is absent) puts into the EngineRequest; `local` keys configure this machine's side only and
 * a remote builder never takes them. `schema` is the key's entry in the editor's JSON schema.
 */
interface KeyDecl<T, R extends object> {
  schema: KeySchema;
  check: (ctx: SpecContext, value: Node | null, at: string) => T | undefined;
  request?: (value: T | undefined, c: RequestContext) => R;
  local?: true;
}

/** A KeyDecl of any key, as the loops over the table see it. */
type AnyDecl = KeyDecl<unknown, object>;

const key = <T, R extends object = object>(d: KeyDecl<T, R>): KeyDecl<T, R> => d;

/** The table's entries, each as an AnyDecl. */
const entries = (): Array<[string, AnyDecl]> => Object.entries(TENSORRT_KEYS) as Array<[string, AnyDecl]>;

/**
 * Every tensorrt: key, the ones a builder takes first (the builder protocol's allow-list is these
 * minus the local ones). A new key is one entry here and one line in lib/engine/trtexec-args.ts.
 */
export const TENSORRT_KEYS = {
  precision: key({
    schema: { type: 'string', enum: PRECISIONS, description: 'The precision trtexec builds with.' },
    check: (ctx, value, at): string | undefined => {
      const p = expectString(ctx, value, at);
      if (p === undefined) return undefined;
      if (PRECISIONS.includes(p.toLowerCase())) return p.toLowerCase();
      ctx.error(at, `unknown precision ${JSON.stringify(p)} (expected one of ${PRECISIONS.join(', ')})${didYouMean(p, PRECISIONS)}`);
      return undefined;
    },
    /** Precisions beyond fp32, each a key of the release table's `precisions`. */
    request: (p): { precision: string[] } => ({ precision: p && p !== 'fp32' ? [p] : [] }),
  }),
  workspace: key({
    schema: {
      anyOf: [{ type: 'integer', minimum: 1 }, { type: 'string', pattern: '^\\s*[0-9]+(\\.[0-9]+)?\\s*([KkMmGgTt]([Ii]?[Bb])?|[Bb])?\\s*$' }],
      description: 'The builder workspace: MiB, or a size such as "4GiB" or "512MiB" (--memPoolSize=workspace:).',
    },
    check: (ctx, value, at): string | number | undefined => {
      const v = isScalar(value) ? value.value : undefined;
      if (typeof v === 'bigint' && v > 0n && v <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(v);
      if (typeof v === 'string' && workspaceMiB(v) !== undefined) return v.trim();
      ctx.error(at, `expected a size in MiB or a string such as "4GiB" or "512MiB", got ${describe(value)}`);
      return undefined;
    },
    request: (w, c): { workspaceMiB?: number } =>
      w === undefined ? {} : { workspaceMiB: Math.max(1, Math.ceil(workspaceMiB(w) ?? c.fail('tensorrt.workspace', `expected a size, got ${JSON.stringify(w)}`))) },
  }),
  /** As written: dims like the config's (no batch dim) or the full engine shape. */
  profiles: key({
    schema: {
      type: 'array',
      items: { type: 'object', additionalProperties: { type: 'object', properties: { min: DIMS, opt: DIMS, max: DIMS }, additionalProperties: false } },
      description: 'Optimization profiles: [{ <input>: { min, opt, max } }, ...] (default: batch 1 / preferred / max_batch_size, other dims from the I/O).',
    },
    check: (ctx, value, at): Profile[] | undefined => checkProfiles(ctx, value, at),
    /** Every profile with every input that has a range (full engine shapes, batch dim first when batching). */
    request: (given, c): { profiles: Profile[] } => ({ profiles: resolveProfiles(c.inputs, c.maxBatchSize, c.optBatchSize, given, c.fail) }),
  }),
  builder_optimization_level: key({
    schema: { type: 'integer', minimum: 0, maximum: 5, description: "trtexec's builder optimization level." },
    check: (ctx, value, at): number | undefined => expectInt(ctx, value, at, 0, 5),
    request: (n): { builderOptimizationLevel?: number } => (n === undefined ? {} : { builderOptimizationLevel: n }),
  }),
  hardware_compatibility: key({
    schema: { type: 'string', enum: [...HARDWARE_COMPATIBILITY, 'sameComputeCapability'], description: "The plan's hardware compatibility level." },
    check: (ctx, value, at): string | undefined => {
      const h = expectString(ctx, value, at);
      if (h === undefined) return undefined;
      const normal = h === 'sameComputeCapability' ? 'same_compute_capability' : h.toLowerCase();
      if (HARDWARE_COMPATIBILITY.includes(normal)) return normal;
      ctx.error(at, `unknown value ${JSON.stringify(h)} (expected one of ${HARDWARE_COMPATIBILITY.join(', ')})`);
      return undefined;
    },
    request: (h): { hardwareCompatibility?: string } => (h === undefined ? {} : { hardwareCompatibility: h }),
  }),
  version_compatible: key({
    schema: { type: 'boolean', description: 'true: a version-compatible plan (--versionCompatible).' },
    check: (ctx, value, at): boolean | undefined => expectBool(ctx, value, at),
    request: (b): { versionCompatible: boolean } => ({ versionCompatible: b === true }),
  }),
  targets: key({
    schema: {
      type: 'array',
      items: { type: ['string', 'number'], pattern: '^[0-9]{1,3}\\.[0-9]{1,3}$' },
      description: 'GPU compute capabilities ("8.0", "9.0"): one plan per target, wired with cc_model_filenames.',
    },
    check: (ctx, value, at): string[] | undefined => checkTargets(ctx, value, at),
    local: true,
  }),
  builders: key({
    schema: { type: 'array', items: { type: 'string', pattern: '^https?://' }, description: 'URLs of remote engine builders (nx-triton builder).' },
    check: (ctx, value, at): string[] | undefined => checkBuilders(ctx, value, at),
    local: true,
  }),
  trtexec: key({
    schema: { type: 'string', description: 'The path of trtexec (default: found on PATH).' },
    check: (ctx, value, at): string | undefined => expectString(ctx, value, at),
    local: true,
  }),
  timing_cache: key({
    schema: { type: 'boolean', description: 'Keep a timing cache per fingerprint in the engine store (default true).' },
    check: (ctx, value, at): boolean | undefined => expectBool(ctx, value, at),
    request: (b): { timingCache: boolean } => ({ timingCache: b !== false }),
  }),
};

type Keys = typeof TENSORRT_KEYS;
type Checked<D> = D extends KeyDecl<infer T, object> ? T : never;
type Requested<D> = D extends KeyDecl<infer _T, infer R> ? R : never;
type Intersect<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer I) => void ? I : never;

/** `tensorrt:` — options of the engine target, as TENSORRT_KEYS checked them. */
export type TensorRtSpec = { [K in keyof Keys]?: Checked<Keys[K]> };

/** The TensorRT options of an EngineRequest, normalised: what every key's `request` puts into it. */
export type EngineOptions = Intersect<{ [K in keyof Keys]: Requested<Keys[K]> }[keyof Keys]>;

/** tensorrt: keys that configure this machine's side only; a remote builder never takes them. */
export const LOCAL_TENSORRT_KEYS = (Object.keys(TENSORRT_KEYS) as Array<keyof Keys>).filter((k) => 'local' in TENSORRT_KEYS[k]) as Array<
  { [K in keyof Keys]: Keys[K] extends { local: true } ? K : never }[keyof Keys]
>;

/** The tensorrt: keys a remote builder accepts. */
export const REMOTE_TENSORRT_KEYS = (Object.keys(TENSORRT_KEYS) as Array<keyof Keys>).filter((k) => !('local' in TENSORRT_KEYS[k])) as Array<
  Exclude<keyof Keys, (typeof LOCAL_TENSORRT_KEYS)[number]>
>;

/** Each key's editor schema by its dotted path (`tensorrt.precision`), for lib/model-spec/plugin-schema.ts. */
export const TENSORRT_KEY_SCHEMA: Readonly<Record<string, KeySchema>> = Object.fromEntries(entries().map(([k, d]) => [`tensorrt.${k}`, d.schema]));

/** The tensorrt: options a remote builder takes. */
export type RemoteTensorRtSpec = Partial<Pick<TensorRtSpec, (typeof REMOTE_TENSORRT_KEYS)[number]>>;

/**
 * The `tensorrt` object of a remote build request, checked by the same table as a triton.yaml's
 * `tensorrt:` (JSON is YAML, so the object is read as that text would be): the checked options,
 * or each problem as `tensorrt.<key>: message`. A key off REMOTE_TENSORRT_KEYS is refused.
 */
export function checkRemoteTensorRt(value: Record<string, unknown>): { options: RemoteTensorRtSpec } | { problems: string[] } {
  const local = Object.keys(value).filter((k) => !(REMOTE_TENSORRT_KEYS as readonly string[]).includes(k));
  if (local.length > 0) return { problems: local.map((k) => `tensorrt.${k}: not accepted by a builder`) };
  const parsed = parseYaml(JSON.stringify(value), 'build request');
  if (Array.isArray(parsed)) return { problems: parsed.map((d) => `tensorrt: ${d.message}`) };
  const ctx = new SpecContext('build request', '', parsed.doc, parsed.lines);
  let options: TensorRtSpec | undefined;
  try {
    options = checkTensorRt(ctx, parsed.doc.contents as Node | null, 'tensorrt');
  } catch (err) {
    if (!(err instanceof WalkAborted)) throw err;
  }
  if (ctx.diagnostics.length > 0) return { problems: ctx.diagnostics.map((d) => (d.path ? `${d.path}: ${d.message}` : d.message)) };
  return { options: options ?? {} };
}

export function checkTensorRt(ctx: SpecContext, node: Node | null, path: string): TensorRtSpec | undefined {
  const out: Record<string, unknown> = {};
  const handlers = Object.fromEntries(
    entries().map(([k, d]) => [
      k,
      (value: Node | null, at: string) => {
        const v = d.check(ctx, value, at);
        if (v !== undefined) out[k] = v;
      },
    ]),
  );
  const present = checkKeys(ctx, node, path, handlers);
  return present ? (out as TensorRtSpec) : undefined;
}

/** `triton_release: 24.08` (a YAML number is taken as written: 24.10 stays "24.10"). */
export function checkTritonRelease(ctx: SpecContext, node: Node | null, path: string): string | undefined {
  const text = isScalar(node) && node.value !== null && typeof node.value !== 'boolean' ? (node.source ?? String(node.value)) : undefined;
  if (text === undefined) {
    ctx.error(path, `expected a Triton release such as "24.08", got ${describe(node)}`, node);
    return undefined;
  }
  const problem = tritonReleaseProblem(text);
  if (problem) ctx.error(path, problem, node);
  return problem ? undefined : text;
}

/** A compute capability, "8.0"; a YAML number written 8.6 is taken as written. */
function checkTargets(ctx: SpecContext, node: Node | null, path: string): string[] | undefined {
  if (!expectList(ctx, node, path)) return undefined;
  const out: string[] = [];
  let ok = true;
  for (const item of ctx.items(node, path)) {
    const text = isScalar(item.node) && item.node.value !== null ? (item.node.source ?? String(item.node.value)) : '';
    if (!/^\d{1,3}\.\d{1,3}$/.test(text)) {
      ctx.error(item.path, `expected a compute capability "major.minor" such as "8.6", got ${describe(item.node)}`);
      ok = false;
    } else if (out.includes(text)) {
      ctx.error(item.path, `target ${text} is listed twice`);
      ok = false;
    } else out.push(text);
  }
  return ok ? out : undefined;
}

function checkBuilders(ctx: SpecContext, node: Node | null, path: string): string[] | undefined {
  if (!expectList(ctx, node, path)) return undefined;
  const out: string[] = [];
  let ok = true;
  for (const item of ctx.items(node, path)) {
    const s = expectString(ctx, item.node, item.path);
    let url: URL | undefined;
    try {
      url = s === undefined ? undefined : new URL(s);
    } catch {
      url = undefined;
    }
    if (s !== undefined && (!url || (url.protocol !== 'http:' && url.protocol !== 'https:'))) {
      ctx.error(item.path, `expected an http:// or https:// URL, got ${JSON.stringify(s)}`);
    }
    if (url && (url.protocol === 'http:' || url.protocol === 'https:')) out.push(s as string);
    else ok = false;
  }
  return ok ? out : undefined;
}

function checkProfiles(ctx: SpecContext, node: Node | null, path: string): Array<Record<string, ShapeRange>> | undefined {
  if (!expectList(ctx, node, path)) return undefined;
  const out: Array<Record<string, ShapeRange>> = [];
  let ok = true;
  for (const item of ctx.items(node, path)) {
    if (!expectMap(ctx, item.node, item.path)) {
      ok = false;
      continue;
    }
    const profile: Record<string, ShapeRange> = {};
    for (const entry of ctx.entries(item.node, item.path)) {
      const range = checkShapeRange(ctx, entry.value, entry.path);
      if (range) setOwn(profile, entry.key, range);
      else ok = false;
    }
    out.push(profile);
  }
  return ok ? out : undefined;
}

function checkShapeRange(ctx: SpecContext, node: Node | null, path: string): ShapeRange | undefined {
  const got: Partial<Record<keyof ShapeRange, number[]>> = {};
  let ok = true;
  const dims = (key: keyof ShapeRange) => (value: Node | null, at: string) => {
    if (!expectList(ctx, value, at)) return (ok = false);
    const list: number[] = [];
    for (const item of ctx.items(value, at)) {
      const d = expectInt(ctx, item.node, item.path, 0, 2 ** 31 - 1, 'a dim size (a non-negative integer)');
      if (d === undefined) ok = false;
      else list.push(d);
    }
    got[key] = list;
  };
  if (!checkKeys(ctx, node, path, { min: dims('min'), opt: dims('opt'), max: dims('max') })) return undefined;
  if (!ok) return undefined;
  const missing = (['min', 'opt', 'max'] as const).filter((k) => got[k] === undefined);
  if (missing.length > 0) {
    ctx.error(path, `a profile needs min, opt and max; missing ${missing.join(', ')}`);
    return undefined;
  }
  const { min, opt, max } = got as ShapeRange;
  if (min.length !== opt.length || opt.length !== max.length) {
    ctx.error(path, `min, opt and max must have the same number of dims (got ${min.length}, ${opt.length}, ${max.length})`);
    return undefined;
  }
  for (let i = 0; i < min.length; i++) {
    if (!(min[i] <= opt[i] && opt[i] <= max[i])) {
      ctx.error(path, `dim ${i}: expected min <= opt <= max, got ${min[i]}, ${opt[i]}, ${max[i]}`);
      return undefined;
    }
  }
  return { min, opt, max };
}

/** The spec fields an engine request is made from (a remote builder makes a stand-in of them). */
export type EngineSpec = Pick<ModelSpec, 'file' | 'name' | 'tensorrt' | 'positions'>;

/**
 * The one EngineRequest of a model: its TensorRT options normalised and its optimization profiles
 * resolved against the model's inputs (`config`: the ModelConfig with its I/O, from the spec,
 * `from:` and the ONNX). Problems are a SpecError placed where the key was written.
 */
export function engineRequest(spec: EngineSpec, config: ModelConfig): EngineRequest {
  const trt = spec.tensorrt ?? {};
  const fail = (path: string, message: string): never => {
    throw new SpecError([placed(spec, path, message)]);
  };
  const inputs = config.input ?? [];
  if (inputs.length === 0) throw new SpecError([{ file: spec.file, path: '', message: `${spec.name} has no inputs to build a TensorRT engine for` }]);
  const maxBatchSize = config.max_batch_size ?? 0;
  const c: RequestContext = { inputs, maxBatchSize, optBatchSize: optBatch(config), fail };
  const options = entries().map(([k, d]) => d.request?.(trt[k as keyof TensorRtSpec], c) ?? {});
  const request = Object.assign({ file: spec.file, model: spec.name, maxBatchSize }, ...options, { positions: spec.positions }) as EngineRequest;
  const max = profileMaxBatch(request.profiles, maxBatchSize);
  if (maxBatchSize > max) {
    // Triton refuses a max_batch_size above the engine's profiles' max (tensorrt_backend model_state.cc GetProfileMaxBatchSize).
    fail(
      'max_batch_size',
      `configuration specified max-batch ${maxBatchSize} but TensorRT engine only supports max-batch ${max} ` +
        `(raise the batch dim of max in tensorrt.profiles, or lower max_batch_size)`,
    );
  }
  return request;
}

/** A problem at `path`, placed where it (or the nearest key above it) was written when known. */
export function placed(spec: Pick<ModelSpec, 'file' | 'positions'>, path: string, message: string): Diagnostic {
  for (let p = path; p; p = p.replace(/(\.[^.[]*|\[[^\]]*\])$/, '')) {
    const pos = Object.hasOwn(spec.positions, p) ? spec.positions[p] : undefined;
    if (pos) return { file: spec.file, line: pos.line, col: pos.col, path, message };
    if (!/[.[]/.test(p)) break;
  }
  return { file: spec.file, path, message };
}

/** The opt batch of the default profile: the largest preferred batch size, if any. */
export function optBatch(config: ModelConfig): number | undefined {
  const db = config.dynamic_batching;
  const sizes = (db?.preferred_batch_size ?? []).map(Number).filter((n) => n > 0 && n <= (config.max_batch_size ?? 0));
  return sizes.length ? Math.max(...sizes) : undefined;
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
 * The optimization profiles (`tensorrt.profiles`), one per entry (default: one):
 *   - { <input>: { min: [dims], opt: [dims], max: [dims] } } per profile;
 *   - dims written like the config's (no batch dim; the batch dim is then 1 / opt / max_batch_size),
 *     or as the full engine shape with the batch dim first, to choose the batch range too;
 *   - static dims repeated as they are; an input with no dynamic dim other than the batch may be left out.
 */
function resolveProfiles(
  inputs: NonNullable<ModelConfig['input']>,
  maxBatchSize: number,
  optBatchSize: number | undefined,
  given: Profile[] | undefined,
  fail: (path: string, message: string) => never,
): Profile[] {
  const list = given ?? [{}];
  if (list.length === 0) fail('tensorrt.profiles', 'expected at least one profile');
  const batching = maxBatchSize > 0;
  const batch = { min: 1, opt: Math.min(optBatchSize ?? maxBatchSize, maxBatchSize), max: maxBatchSize };
  const names = inputs.map((t) => t.name);
  return list.map((entry, i) => {
    const path = given ? `tensorrt.profiles[${i}]` : 'tensorrt.profiles';
    for (const key of Object.keys(entry)) {
      if (!names.includes(key)) fail(`${path}.${key}`, `no input named "${key}" (inputs: ${names.join(', ') || 'none'})`);
    }
    const profile: Profile = {};
    for (const input of inputs) {
      const name = input.name ?? '';
      if (name.includes(',')) fail(`input ${name}`, 'trtexec cannot take a shape for an input name with a comma');
      const dims = (input.reshape?.shape ?? input.dims ?? []).map(Number);
      const full = batching ? [-1, ...dims] : dims;
      const range = Object.hasOwn(entry, name) ? entry[name] : undefined;
      if (range === undefined) {
        if (dims.some((d) => d < 0)) {
          fail(path, `input "${name}" has dynamic dims [${dims.join(', ')}] but no range: add ${name}: { min: [...], opt: [...], max: [...] }`);
        }
        if (batching) setOwn(profile, name, { min: [batch.min, ...dims], opt: [batch.opt, ...dims], max: [batch.max, ...dims] });
        continue;
      }
      setOwn(profile, name, resolveRange(range, dims, full, batching, batch, `${path}.${name}`, fail));
    }
    return profile;
  });
}

function resolveRange(
  range: ShapeRange,
  dims: number[],
  full: number[],
  batching: boolean,
  batch: { min: number; opt: number; max: number },
  path: string,
  fail: (path: string, message: string) => never,
): ShapeRange {
  const sel = (k: keyof ShapeRange): number[] => {
    const value = range[k];
    const lengths = batching ? `${dims.length} (without the batch dim) or ${full.length} (with it)` : `${dims.length}`;
    if (!Array.isArray(value) || !value.every((d) => Number.isInteger(d) && d >= 0) || (value.length !== dims.length && value.length !== full.length)) {
      return fail(`${path}.${k}`, `expected ${lengths} non-negative integers for the dims [${dims.join(', ')}]`);
    }
    const shape = value.length === full.length ? value : [batch[k], ...value];
    shape.forEach((d, j) => {
      if (full[j] >= 0 && d !== full[j]) fail(`${path}.${k}`, `dim ${j} of the engine shape is fixed at ${full[j]}, got ${d}`);
      if (batching && j === 0 && d < 1) fail(`${path}.${k}`, `the batch dim must be at least 1, got ${d}`);
    });
    return shape;
  };
  const [min, opt, max] = [sel('min'), sel('opt'), sel('max')];
  full.forEach((_, j) => {
    if (!(min[j] <= opt[j] && opt[j] <= max[j])) fail(path, `dim ${j}: expected min <= opt <= max, got ${min[j]} / ${opt[j]} / ${max[j]}`);
  });
  return { min, opt, max };
}

/**
 * `tensorrt:` on an ONNX Runtime model: ONNX Runtime's TensorRT execution provider, configured the
 * way Triton's onnxruntime_backend reads `optimization.execution_accelerators.gpu_execution_accelerator`
 * (src/onnxruntime.cc: `precision_mode` FP32/FP16/BF16/INT8, `max_workspace_size_bytes`, other `trt_*`
 * keys passed to the provider as they are). Keys with no provider option are a SpecError.
 */
export function ortTensorRtAccelerator(spec: EngineSpec, config: ModelConfig): { name: string; parameters: Record<string, string> } | undefined {
  const trt = spec.tensorrt;
  if (!trt) return undefined;
  const problems: Diagnostic[] = [];
  const refuse = (key: string, why: string): void => void problems.push(placed(spec, `tensorrt.${key}`, why));
  const parameters: Record<string, string> = {};
  const precisions: Record<string, string> = { fp32: 'FP32', fp16: 'FP16', bf16: 'BF16', int8: 'INT8' };
  for (const key of ['targets', 'builders', 'trtexec', 'version_compatible'] as const) {
    if (trt[key] !== undefined) refuse(key, `builds TensorRT plans (platform: tensorrt_plan); ONNX Runtime's TensorRT execution provider has no such option`);
  }
  if (trt.precision !== undefined) {
    if (Object.hasOwn(precisions, trt.precision)) parameters.precision_mode = precisions[trt.precision];
    else refuse('precision', `ONNX Runtime's TensorRT execution provider takes fp32, fp16, bf16 or int8, got ${trt.precision}`);
  }
  const mib = trt.workspace === undefined ? undefined : workspaceMiB(trt.workspace);
  if (mib !== undefined) parameters.max_workspace_size_bytes = String(Math.ceil(mib * 2 ** 20));
  if (trt.builder_optimization_level !== undefined) parameters.trt_builder_optimization_level = String(trt.builder_optimization_level);
  if (trt.hardware_compatibility === 'ampere+') parameters.trt_engine_hw_compatible = 'true';
  else if (trt.hardware_compatibility === 'same_compute_capability') refuse('hardware_compatibility', `ONNX Runtime's TensorRT execution provider offers none or ampere+ (trt_engine_hw_compatible)`);
  if (trt.timing_cache !== undefined) parameters.trt_timing_cache_enable = String(trt.timing_cache);
  if (trt.profiles !== undefined) {
    if (trt.profiles.length !== 1) refuse('profiles', `give one profile for ONNX Runtime's TensorRT execution provider (trt_profile_*_shapes), got ${trt.profiles.length}`);
    else {
      const [profile] = engineRequest(spec, config).profiles;
      for (const sel of ['min', 'opt', 'max'] as const) {
        parameters[`trt_profile_${sel}_shapes`] = Object.entries(profile).map(([name, r]) => `${name}:${r[sel].join('x')}`).join(',');
      }
    }
  }
  if (problems.length > 0) throw new SpecError(problems);
  return { name: 'tensorrt', parameters };
}

/**
 * The config with `tensorrt:` applied for a model that is not tensorrt_plan: an ONNX Runtime model
 * gets the TensorRT execution provider; any other platform has nothing to apply it to (SpecError).
 */
export function applyTensorRtOptions(spec: EngineSpec, config: ModelConfig): ModelConfig {
  if (!spec.tensorrt || config.platform === 'tensorrt_plan' || config.backend === 'tensorrt') return config;
  const ort = config.platform === 'onnxruntime_onnx' || config.backend === 'onnxruntime';
  if (!ort) {
    throw new SpecError([placed(spec, 'tensorrt', `applies to tensorrt_plan models (engines) and onnxruntime_onnx models (TensorRT execution provider), not ${config.platform ?? config.backend ?? 'this model'}`)]);
  }
  const optimization = (config.optimization ?? {}) as { execution_accelerators?: { gpu_execution_accelerator?: unknown[] } };
  if ((optimization.execution_accelerators?.gpu_execution_accelerator ?? []).length > 0) {
    throw new SpecError([placed(spec, 'tensorrt', 'set either tensorrt: or optimization.execution_accelerators.gpu_execution_accelerator, not both')]);
  }
  const accelerator = ortTensorRtAccelerator(spec, config)!;
  return {
    ...config,
    optimization: { ...optimization, execution_accelerators: { ...optimization.execution_accelerators, gpu_execution_accelerator: [accelerator] } },
  };
}
