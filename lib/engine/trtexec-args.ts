import { SpecError } from '../errors';
import { placed } from '../model-spec/positions';
import { KEY_FLAGS, keyArgs, type PlanPaths } from '../model-spec/tensorrt';
import type { EngineRequest } from '../model-spec/types';
import type { TensorRtRelease } from '../releases/tensorrt';

export type { PlanPaths };

/** The flags every build has; each tensorrt: key declares its own (TENSORRT_KEYS `trtexec`). */
const PATH_FLAGS = ['onnx', 'saveEngine', 'timingCacheFile'];

/** The tensorrt: key each flag comes from, for messages when a release lacks the flag. */
const FLAG_KEYS: Record<string, string> = Object.fromEntries([['onnx', ''], ['saveEngine', ''], ['skipInference', ''], ...KEY_FLAGS]);

/** Every trtexec flag nx-triton may emit (checked against the release table by the tests). */
export const EMITTED_FLAGS = Object.keys(FLAG_KEYS);

/**
 * The trtexec argv that builds `paths.plan` from `paths.onnx` with `release`: the paths, then each
 * tensorrt: key's arguments in the table's order, then --skipInference. The request was checked when
 * it was made; only what depends on the release is checked here.
 */
export function trtexecArgs(r: EngineRequest, release: TensorRtRelease, paths: PlanPaths): string[] {
  const fail = (path: string, message: string): never => {
    throw new SpecError([placed(r, path, message)]);
  };
  if (!release.builds) fail('', `TensorRT ${release.version} is too old: nx-triton builds engines with TensorRT 8.6 or newer`);
  const args = [`--onnx=${paths.onnx}`, `--saveEngine=${paths.plan}`, ...keyArgs(r, { release, paths, fail }), '--skipInference'];
  for (const flag of args.map((a) => a.slice(2).split('=')[0])) {
    if (!release.flags.has(flag)) fail(Object.hasOwn(FLAG_KEYS, flag) ? FLAG_KEYS[flag] : '', `trtexec of TensorRT ${release.version} has no --${flag} (the release table lib/releases/trt-releases.json)`);
  }
  return args;
}

/** The build options that decide the engine: the argv without the paths it reads and writes. */
export function normalisedOptions(args: string[]): string[] {
  return args.filter((a) => !PATH_FLAGS.includes(a.slice(2).split('=')[0]));
}
