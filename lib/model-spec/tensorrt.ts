import { resolve } from 'node:path';
import type { Node } from 'yaml';
import { allHardwareLevels, allPrecisions, compareVersions, RELEASES, versionParts, type TensorRtRelease } from '../releases/tensorrt';
import { tritonReleaseProblem } from '../releases/triton';
import type { ModelConfig } from '../model-config';
import { describe, isScalar, setOwn, SpecContext, WalkAborted } from './context';
import type { KeySchema } from './keys';
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

/** min / opt / max of one input's shape in an optimization profile. */
export interface ShapeRange {
  min: number[];
  opt: number[];
  max: number[];
}

/** One optimization profile: input name -> its shape range. */
export type Profile = Record<string, ShapeRange>;

/** Refuses a value at a key path (throws). */
export type Fail = (path: string, message: string) => never;

/** What a key's `request` gets: the model's side of the build, and how to refuse a value. */
export interface RequestContext {
  inputs: NonNullable<ModelConfig['input']>;
  maxBatchSize: number;
  optBatchSize: number | undefined;
  /** The project directory (a relative `tensorrt.trtexec` is resolved from it); none for a remote request. */
  dir?: string;
  fail: Fail;
}

/** What a key's `trtexec` gets: the TensorRT release that builds, where trtexec reads and writes, how to refuse. */
export interface FlagContext {
  release: TensorRtRelease;
  paths: PlanPaths;
  fail: Fail;
}

/** Where trtexec reads and writes. */
export interface PlanPaths {
  onnx: string;
  plan: string;
  timingCache?: string;
}

/** What a key's `ort` gets: the resolved profiles (made when asked), and how to refuse the value on ONNX Runtime. */
export interface OrtContext {
  profiles: () => Profile[];
  refuse: (why: string) => void;
}

/**
 * One tensorrt: key, declared once:
 *   - `check` reads its triton.yaml value (undefined after reporting a problem); its return type is the
 *     key's type in TensorRtSpec; a remote builder runs the same check on a request's value;
 *   - `schema`: its entry in the editor's JSON schema;
 *   - `request`: what the checked value (undefined when the key is absent) puts into the EngineRequest;
 *   - `trtexec`: the trtexec flags it may emit (`flags`, checked against each release's table) and
 *     the arguments it adds for a release (`args`, from its own part of the request);
 *   - `ort`: its ONNX Runtime TensorRT execution provider parameters on an `onnxruntime_onnx` model
 *     (Triton's onnxruntime_backend reads them); a key without `ort` is refused there;
 *   - `local`: configures this machine's side only; a remote builder never takes it.
 */
interface KeyDecl<T, R extends object> {
  schema: KeySchema;
  check: (ctx: SpecContext, value: Node | null, at: string) => T | undefined;
  request: (value: T | undefined, c: RequestContext) => R;
  trtexec?: { flags: readonly string[]; args: (own: R, c: FlagContext) => string[] };
  ort?: (value: T, c: OrtContext) => Record<string, string>;
  local?: true;
}

/** A KeyDecl of any key, as the loops over the table see it. */
type AnyDecl = KeyDecl<unknown, object>;

const key = <T, R extends object>(d: KeyDecl<T, R>): KeyDecl<T, R> => d;

/** The table's entries, each as an AnyDecl. */
const entries = (): Array<[string, AnyDecl]> => Object.entries(TENSORRT_KEYS) as Array<[string, AnyDecl]>;

/** ONNX Runtime's TensorRT provider precision modes (onnxruntime_backend src/onnxruntime.cc `precision_mode`). */
const ORT_PRECISIONS: Record<string, string> = { fp32: 'FP32', fp16: 'FP16', bf16: 'BF16', int8: 'INT8' };

const STRONGLY_TYPED_HELP =
  'TensorRT 11 builds strongly typed networks only and removed --fp16/--bf16/--int8/--fp8/--int4/--best. Put the precision into the ONNX instead (e.g. ' +
  'python -m modelopt.onnx.autocast --onnx_path model.onnx --output_path model_fp16.onnx, or explicit Q/DQ nodes for int8) ' +
  'and remove tensorrt.precision';

/**
 * Every tensorrt: key, in the order their trtexec arguments are written. A new key is one entry here:
 * the parser, the editor schema, TensorRtSpec and the EngineRequest, trtexec's argv, the ONNX Runtime
 * mapping and the builders' allow-list all derive from it.
 */
export const TENSORRT_KEYS = {
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
    trtexec: {
      flags: ['minShapes', 'optShapes', 'maxShapes', 'profile'],
      args: ({ profiles }, { release, fail }) => {
        // Without a dynamic dim anywhere there is nothing to give trtexec.
        const given = profiles.filter((p) => Object.keys(p).length > 0);
        if (given.length > 1 && !release.flags.has('profile')) {
          fail('tensorrt.profiles', `several optimization profiles need TensorRT ${release.since('profile')} or newer (trtexec --profile); this machine has ${release.version}`);
        }
        return given.flatMap((p, i) => [
          ...(given.length > 1 ? [`--profile=${i}`] : []),
          ...(['min', 'opt', 'max'] as const).map((sel) => `--${sel}Shapes=${Object.entries(p).map(([name, range]) => `${name}:${shapeText(range[sel])}`).join(',')}`),
        ]);
      },
    },
    ort: (given, c): Record<string, string> => {
      if (given.length !== 1) {
        c.refuse(`give one profile for ONNX Runtime's TensorRT execution provider (trt_profile_*_shapes), got ${given.length}`);
        return {};
      }
      const [profile] = c.profiles();
      return Object.fromEntries(
        (['min', 'opt', 'max'] as const).map((sel) => [`trt_profile_${sel}_shapes`, Object.entries(profile).map(([name, r]) => `${name}:${r[sel].join('x')}`).join(',')]),
      );
    },
  }),
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
    trtexec: {
      flags: Object.values(RELEASES.precisions),
      args: ({ precision }, { release, fail }) =>
        precision.map((p) => {
          if (release.precision === 'strongly_typed') fail('tensorrt.precision', `"${p}" cannot be used with TensorRT ${release.version}: ${STRONGLY_TYPED_HELP}`);
          const flag = RELEASES.precisions[p];
          if (!release.flags.has(flag)) fail('tensorrt.precision', `"${p}" needs TensorRT ${release.since(flag)} or newer; this machine has ${release.version}`);
          return `--${flag}`;
        }),
    },
    ort: (p, c): Record<string, string> => {
      if (Object.hasOwn(ORT_PRECISIONS, p)) return { precision_mode: ORT_PRECISIONS[p] };
      c.refuse(`ONNX Runtime's TensorRT execution provider takes fp32, fp16, bf16 or int8, got ${p}`);
      return {};
    },
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
    trtexec: {
      flags: ['memPoolSize'],
      args: ({ workspaceMiB: mib }, { release }) => (mib === undefined ? [] : [`--memPoolSize=workspace:${mib}${release.memoryPoolUnit}`]),
    },
    ort: (w) => ({ max_workspace_size_bytes: String(Math.ceil((workspaceMiB(w) ?? 0) * 2 ** 20)) }),
  }),
  builder_optimization_level: key({
    schema: { type: 'integer', minimum: 0, maximum: 5, description: "trtexec's builder optimization level." },
    check: (ctx, value, at): number | undefined => expectInt(ctx, value, at, 0, 5),
    request: (n): { builderOptimizationLevel?: number } => (n === undefined ? {} : { builderOptimizationLevel: n }),
    trtexec: { flags: ['builderOptimizationLevel'], args: ({ builderOptimizationLevel: n }) => (n === undefined ? [] : [`--builderOptimizationLevel=${n}`]) },
    ort: (n) => ({ trt_builder_optimization_level: String(n) }),
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
    trtexec: { flags: ['hardwareCompatibilityLevel'], args: ({ hardwareCompatibility: h }, c) => hardwareLevelArgs(h, c) },
    ort: (h, c): Record<string, string> => {
      if (h === 'ampere+') return { trt_engine_hw_compatible: 'true' };
      if (h !== 'none') c.refuse(`ONNX Runtime's TensorRT execution provider offers none or ampere+ (trt_engine_hw_compatible)`);
      return {};
    },
  }),
  version_compatible: key({
    schema: { type: 'boolean', description: 'true: a version-compatible plan (--versionCompatible).' },
    check: (ctx, value, at): boolean | undefined => expectBool(ctx, value, at),
    request: (b): { versionCompatible: boolean } => ({ versionCompatible: b === true }),
    trtexec: { flags: ['versionCompatible'], args: ({ versionCompatible }) => (versionCompatible ? ['--versionCompatible'] : []) },
  }),
  targets: key({
    schema: {
      type: 'array',
      items: { type: ['string', 'number'], pattern: '^[0-9]{1,3}\\.[0-9]{1,3}$' },
      description: 'GPU compute capabilities ("8.0", "9.0"): one plan per target, wired with cc_model_filenames.',
    },
    check: (ctx, value, at): string[] | undefined => checkTargets(ctx, value, at),
    request: (t): { targets: string[] } => ({ targets: t ?? [] }),
    local: true,
  }),
  builders: key({
    schema: { type: 'array', items: { type: 'string', pattern: '^https?://' }, description: 'URLs of remote engine builders (nx-triton builder).' },
    check: (ctx, value, at): string[] | undefined => checkBuilders(ctx, value, at),
    request: (b): { builders: string[] } => ({ builders: b ?? [] }),
    local: true,
  }),
  trtexec: key({
    schema: {
      type: 'string',
      description:
        'The trtexec to run: a path relative to the project, or a name on PATH (default: trtexec on PATH). It runs at build time: one inside the workspace only with NX_TRITON_ALLOW_WORKSPACE_TRTEXEC=1 in the environment.',
    },
    check: (ctx, value, at): string | undefined => expectString(ctx, value, at),
    /** A path (relative to the project) or a name looked up on PATH. */
    request: (t, c): { trtexec?: string } => (t === undefined ? {} : { trtexec: (t.includes('/') || t.includes('\\')) && c.dir ? resolve(c.dir, t) : t }),
    local: true,
  }),
  timing_cache: key({
    schema: { type: 'boolean', description: 'Keep a timing cache per fingerprint in the engine store (default true).' },
    check: (ctx, value, at): boolean | undefined => expectBool(ctx, value, at),
    request: (b): { timingCache: boolean } => ({ timingCache: b !== false }),
    trtexec: { flags: ['timingCacheFile'], args: (_own, { paths }) => (paths.timingCache ? [`--timingCacheFile=${paths.timingCache}`] : []) },
    ort: (b) => ({ trt_timing_cache_enable: String(b) }),
  }),
};

type Keys = typeof TENSORRT_KEYS;
type Checked<D> = D extends KeyDecl<infer T, infer _R> ? T : never;
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

/** Each key's editor schema by its dotted path (`tensorrt.precision`), for PLUGIN_KEY_SCHEMA (lib/model-spec/plugin-keys.ts). */
export const TENSORRT_KEY_SCHEMA: Readonly<Record<string, KeySchema>> = Object.fromEntries(entries().map(([k, d]) => [`tensorrt.${k}`, d.schema]));

/** The tensorrt: options a remote builder takes. */
export type RemoteTensorRtSpec = Partial<Pick<TensorRtSpec, (typeof REMOTE_TENSORRT_KEYS)[number]>>;

/** The options of `tensorrt` that a builder takes, as written: what the wire carries. */
export function remoteTensorRt(trt: TensorRtSpec): RemoteTensorRtSpec {
  return Object.fromEntries(REMOTE_TENSORRT_KEYS.filter((k) => trt[k] !== undefined).map((k) => [k, trt[k]])) as RemoteTensorRtSpec;
}

/** The normalised options of the keys, each key's `request` run on its checked value. */
export function requestOptions(trt: TensorRtSpec, c: RequestContext): EngineOptions {
  return Object.assign({}, ...entries().map(([k, d]) => d.request(trt[k as keyof TensorRtSpec], c))) as EngineOptions;
}

/** Every trtexec flag a key may emit, with the key it comes from (for the release check and its messages). */
export const KEY_FLAGS: ReadonlyArray<readonly [flag: string, key: string]> = entries().flatMap(([k, d]) => (d.trtexec?.flags ?? []).map((f) => [f, `tensorrt.${k}`] as const));

/** The trtexec arguments of the options, key by key in table order. */
export function keyArgs(options: EngineOptions, c: FlagContext): string[] {
  return entries().flatMap(([, d]) => d.trtexec?.args(options, c) ?? []);
}

/**
 * `tensorrt:` on an ONNX Runtime model: the TensorRT execution provider's parameters, key by key
 * (`ort` in the table); a key without one is refused at its line (`refuse(key, why)`).
 */
export function ortParameters(trt: TensorRtSpec, profiles: () => Profile[], refuse: (key: string, why: string) => void): Record<string, string> {
  const parameters: Record<string, string> = {};
  for (const [k, d] of entries()) {
    const value = trt[k as keyof TensorRtSpec];
    if (value === undefined) continue;
    const no = (why: string): void => refuse(k, why);
    if (!d.ort) no(`builds TensorRT plans (platform: tensorrt_plan); ONNX Runtime's TensorRT execution provider has no such option`);
    else Object.assign(parameters, d.ort(value, { profiles, refuse: no }));
  }
  return parameters;
}

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

/** `tensorrt.hardware_compatibility` as this release's --hardwareCompatibilityLevel (none: no flag). */
function hardwareLevelArgs(h: string | undefined, { release, fail }: FlagContext): string[] {
  if (h === undefined) return [];
  const level = Object.hasOwn(release.hardwareCompatibility, h) ? release.hardwareCompatibility[h] : undefined;
  if (level === undefined) {
    const since = release.levelSince(h);
    const offered = Object.keys(release.hardwareCompatibility).join(', ') || 'none';
    fail(
      'tensorrt.hardware_compatibility',
      since && compareVersions(versionParts(release.version), versionParts(since)) < 0
        ? `${h} needs TensorRT ${since} or newer; this machine has ${release.version}`
        : `TensorRT ${release.version} has no ${h} level (it has: ${offered})`,
    );
  }
  return level === 'none' ? [] : [`--hardwareCompatibilityLevel=${level}`];
}

function shapeText(dims: number[]): string {
  return dims.length === 0 ? 'scalar' : dims.join('x');
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
  fail: Fail,
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
  fail: Fail,
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
