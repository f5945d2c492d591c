import { SpecError } from '../errors';
import { placed } from '../spec/tensorrt';
import type { EngineRequest } from '../types';
import { compareVersions, RELEASES, versionParts, type TensorRtRelease } from './releases';

/** Where trtexec reads and writes. */
export interface PlanPaths {
  onnx: string;
  plan: string;
  timingCache?: string;
}

/** Every trtexec flag nx-triton may emit (checked against the release table by the tests). */
export const EMITTED_FLAGS = [
  'onnx',
  'saveEngine',
  'minShapes',
  'optShapes',
  'maxShapes',
  'profile',
  'skipInference',
  'memPoolSize',
  'builderOptimizationLevel',
  'hardwareCompatibilityLevel',
  'versionCompatible',
  'timingCacheFile',
  ...Object.values(RELEASES.precisions),
];

/** The tensorrt: key each option flag comes from, for messages when a release lacks the flag. */
const FLAG_KEYS: Record<string, string> = {
  minShapes: 'tensorrt.profiles',
  optShapes: 'tensorrt.profiles',
  maxShapes: 'tensorrt.profiles',
  profile: 'tensorrt.profiles',
  memPoolSize: 'tensorrt.workspace',
  builderOptimizationLevel: 'tensorrt.builder_optimization_level',
  hardwareCompatibilityLevel: 'tensorrt.hardware_compatibility',
  versionCompatible: 'tensorrt.version_compatible',
  timingCacheFile: 'tensorrt.timing_cache',
  ...Object.fromEntries(Object.values(RELEASES.precisions).map((f) => [f, 'tensorrt.precision'])),
};

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
  const fail = (path: string, message: string): never => {
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
  if (r.workspaceMiB !== undefined) args.push(`--memPoolSize=workspace:${r.workspaceMiB}${release.memoryPoolUnit}`);
  if (r.builderOptimizationLevel !== undefined) args.push(`--builderOptimizationLevel=${r.builderOptimizationLevel}`);
  if (r.hardwareCompatibility !== undefined) {
    const level = Object.hasOwn(release.hardwareCompatibility, r.hardwareCompatibility) ? release.hardwareCompatibility[r.hardwareCompatibility] : undefined;
    if (level === undefined) {
      const since = release.levelSince(r.hardwareCompatibility);
      const offered = Object.keys(release.hardwareCompatibility).join(', ') || 'none';
      fail(
        'tensorrt.hardware_compatibility',
        since && compareVersions(versionParts(release.version), versionParts(since)) < 0
          ? `${r.hardwareCompatibility} needs TensorRT ${since} or newer; ${machine}`
          : `TensorRT ${release.version} has no ${r.hardwareCompatibility} level (it has: ${offered})`,
      );
    }
    if (level !== 'none') args.push(`--hardwareCompatibilityLevel=${level}`);
  }
  if (r.versionCompatible) args.push('--versionCompatible');
  if (paths.timingCache) args.push(`--timingCacheFile=${paths.timingCache}`);
  args.push('--skipInference');
  for (const flag of args.map((a) => a.slice(2).split('=')[0])) {
    if (!has(flag)) fail(FLAG_KEYS[flag] ?? '', `trtexec of TensorRT ${release.version} has no --${flag} (the release table lib/engine/trt-releases.json)`);
  }
  return args;
}

/** The build options that decide the engine: the argv without the paths it reads and writes. */
export function normalisedOptions(args: string[]): string[] {
  return args.filter((a) => !PATH_FLAGS.includes(a.split('=')[0]));
}

function shapeText(dims: number[]): string {
  return dims.length === 0 ? 'scalar' : dims.join('x');
}
