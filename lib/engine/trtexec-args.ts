import { SpecError } from '../errors';
import { placed } from '../model-spec/tensorrt';
import type { EngineRequest, TensorRtSpec } from '../types';
import { compareVersions, RELEASES, versionParts, type TensorRtRelease } from '../releases/tensorrt';

/** Where trtexec reads and writes. */
export interface PlanPaths {
  onnx: string;
  plan: string;
  timingCache?: string;
}

type Fail = (path: string, message: string) => never;

/**
 * The option flags that take one value each, in argv order: the flag, the tensorrt: key it comes
 * from (for messages when a release lacks the flag) and its value from the request (undefined or
 * false: not given; true: the flag alone). A new tensorrt: key with one flag is one line here.
 */
const OPTION_FLAGS: Array<{ flag: string; key: keyof TensorRtSpec; value: (r: EngineRequest, release: TensorRtRelease, fail: Fail) => string | number | boolean | undefined }> = [
  { flag: 'memPoolSize', key: 'workspace', value: (r, release) => r.workspaceMiB !== undefined && `workspace:${r.workspaceMiB}${release.memoryPoolUnit}` },
  { flag: 'builderOptimizationLevel', key: 'builder_optimization_level', value: (r) => r.builderOptimizationLevel },
  { flag: 'hardwareCompatibilityLevel', key: 'hardware_compatibility', value: hardwareLevel },
  { flag: 'versionCompatible', key: 'version_compatible', value: (r) => r.versionCompatible },
];

/** The flags that are not options of tensorrt: (or come from several keys), with the key they come from. */
const OTHER_FLAGS: Record<string, keyof TensorRtSpec | ''> = {
  onnx: '',
  saveEngine: '',
  minShapes: 'profiles',
  optShapes: 'profiles',
  maxShapes: 'profiles',
  profile: 'profiles',
  skipInference: '',
  timingCacheFile: 'timing_cache',
  ...Object.fromEntries(Object.values(RELEASES.precisions).map((f) => [f, 'precision' as const])),
};

/** The tensorrt: key each flag comes from, for messages when a release lacks the flag. */
const FLAG_KEYS: Record<string, string> = Object.fromEntries(
  [...Object.entries(OTHER_FLAGS), ...OPTION_FLAGS.map((o) => [o.flag, o.key])].map(([flag, key]) => [flag, key && `tensorrt.${key}`]),
);

/** Every trtexec flag nx-triton may emit (checked against the release table by the tests). */
export const EMITTED_FLAGS = Object.keys(FLAG_KEYS);

/** Flags whose value is a path: left out of the options that go into the engine key. */
const PATH_FLAGS = ['--onnx', '--saveEngine', '--timingCacheFile'];

const STRONGLY_TYPED_HELP =
  'TensorRT 11 builds strongly typed networks only and removed --fp16/--bf16/--int8/--fp8/--int4/--best. Put the precision into the ONNX instead (e.g. ' +
  'python -m modelopt.onnx.autocast --onnx_path model.onnx --output_path model_fp16.onnx, or explicit Q/DQ nodes for int8) ' +
  'and remove tensorrt.precision';

/**
 * The trtexec argv that builds `paths.plan` from `paths.onnx` with `release`. The request was
 * checked when it was made; only what depends on the release is checked here.
 */
export function trtexecArgs(r: EngineRequest, release: TensorRtRelease, paths: PlanPaths): string[] {
  const fail: Fail = (path, message) => {
    throw new SpecError([placed(r, path, message)]);
  };
  const has = (flag: string): boolean => release.flags.has(flag);
  const machine = `this machine has ${release.version}`;
  if (!release.builds) fail('', `TensorRT ${release.version} is too old: nx-triton builds engines with TensorRT 8.6 or newer`);
  const args = [`--onnx=${paths.onnx}`, `--saveEngine=${paths.plan}`];

  // Without a dynamic dim anywhere there is nothing to give trtexec.
  const profiles = r.profiles.filter((p) => Object.keys(p).length > 0);
  if (profiles.length > 1 && !has('profile')) {
    fail('tensorrt.profiles', `several optimization profiles need TensorRT ${release.since('profile')} or newer (trtexec --profile); ${machine}`);
  }
  profiles.forEach((p, i) => {
    if (profiles.length > 1) args.push(`--profile=${i}`);
    for (const sel of ['min', 'opt', 'max'] as const) {
      args.push(`--${sel}Shapes=${Object.entries(p).map(([name, range]) => `${name}:${shapeText(range[sel])}`).join(',')}`);
    }
  });

  for (const p of r.precision) {
    if (release.precision === 'strongly_typed') fail('tensorrt.precision', `"${p}" cannot be used with TensorRT ${release.version}: ${STRONGLY_TYPED_HELP}`);
    const flag = RELEASES.precisions[p];
    if (!has(flag)) fail('tensorrt.precision', `"${p}" needs TensorRT ${release.since(flag)} or newer; ${machine}`);
    args.push(`--${flag}`);
  }
  for (const o of OPTION_FLAGS) {
    const value = o.value(r, release, fail);
    if (value !== undefined && value !== false) args.push(value === true ? `--${o.flag}` : `--${o.flag}=${value}`);
  }
  if (paths.timingCache) args.push(`--timingCacheFile=${paths.timingCache}`);
  args.push('--skipInference');
  for (const flag of args.map((a) => a.slice(2).split('=')[0])) {
    if (!has(flag)) fail(Object.hasOwn(FLAG_KEYS, flag) ? FLAG_KEYS[flag] : '', `trtexec of TensorRT ${release.version} has no --${flag} (the release table lib/releases/trt-releases.json)`);
  }
  return args;
}

/** `tensorrt.hardware_compatibility` as this release's --hardwareCompatibilityLevel (none: no flag). */
function hardwareLevel(r: EngineRequest, release: TensorRtRelease, fail: Fail): string | undefined {
  if (r.hardwareCompatibility === undefined) return undefined;
  const level = Object.hasOwn(release.hardwareCompatibility, r.hardwareCompatibility) ? release.hardwareCompatibility[r.hardwareCompatibility] : undefined;
  if (level === undefined) {
    const since = release.levelSince(r.hardwareCompatibility);
    const offered = Object.keys(release.hardwareCompatibility).join(', ') || 'none';
    fail(
      'tensorrt.hardware_compatibility',
      since && compareVersions(versionParts(release.version), versionParts(since)) < 0
        ? `${r.hardwareCompatibility} needs TensorRT ${since} or newer; this machine has ${release.version}`
        : `TensorRT ${release.version} has no ${r.hardwareCompatibility} level (it has: ${offered})`,
    );
  }
  return level === 'none' ? undefined : level;
}

/** The build options that decide the engine: the argv without the paths it reads and writes. */
export function normalisedOptions(args: string[]): string[] {
  return args.filter((a) => !PATH_FLAGS.includes(a.split('=')[0]));
}

function shapeText(dims: number[]): string {
  return dims.length === 0 ? 'scalar' : dims.join('x');
}
