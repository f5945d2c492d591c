import { execFileSync } from 'node:child_process';
import { delimiter, isAbsolute, resolve } from 'node:path';
import { UserError } from '../errors';
import { resolvePython } from '../system/python';
import { isExecutable, onPath } from './locate';

/**
 * Where `perf_analyzer` (Triton's load generator) comes from, first match wins, as `tritonserver` is
 * found (./locate.ts):
 *   1. the plugin option `perfAnalyzer` (nx.json) or the CLI's `--perf-analyzer`;
 *   2. env `NX_TRITON_PERF_ANALYZER`;
 *   3. `perf_analyzer` on PATH (NGC's Triton SDK container);
 *   4. the binary in the `tritonclient` wheel installed for the configured interpreter (env
 *      NX_TRITON_PYTHON, the plugin's `python` option, else python3). Only wheels up to 2.50.0 carry
 *      one that runs on glibc 2.36 (Debian 12); it links `libcudart.so.12`, which PyPI's
 *      `nvidia-cuda-runtime-cu12` installs for the same interpreter (no GPU is needed), and
 *      `libb64.so.0d` (Debian's `libb64-0d`). See ../../README.md, "Tune".
 */
export interface PerfAnalyzerBinary {
  binary: string;
  source: 'option' | 'NX_TRITON_PERF_ANALYZER' | 'PATH' | 'tritonclient';
  /** What the binary needs in its environment (tritonclient: the interpreter's CUDA runtime on LD_LIBRARY_PATH). */
  env: NodeJS.ProcessEnv;
  /** tritonclient only: the wheel's version. */
  version?: string;
}

export interface LocatePerfAnalyzerOptions {
  /** Plugin option `perfAnalyzer` / `--perf-analyzer`. */
  perfAnalyzer?: string;
  /** Plugin option `python` (the interpreter whose tritonclient is looked at). */
  python?: string;
  env?: NodeJS.ProcessEnv;
  /** Workspace root: a relative option is resolved from here. */
  cwd?: string;
}

/** The one install line for the perf_analyzer the project's Python environment uses (python/requirements.txt). */
export const PERF_ANALYZER_INSTALL =
  'pip install --no-deps tritonclient==2.50.0 nvidia-cuda-runtime-cu12 (only its binary is used) and apt-get install libb64-0d';

const QUERY = [
  'import json,os,importlib.metadata as m,importlib.util as u',
  'out={"version":None,"binary":None,"cudart":None}',
  'try:',
  ' d=m.distribution("tritonclient")',
  ' out["version"]=d.version',
  ' for f in d.files or []:',
  '  if str(f).replace(os.sep,"/").endswith("bin/perf_analyzer"):',
  '   out["binary"]=os.path.normpath(str(d.locate_file(f)))',
  '   break',
  'except m.PackageNotFoundError:',
  ' pass',
  'try:',
  ' s=u.find_spec("nvidia.cuda_runtime")',
  ' if s and s.submodule_search_locations:',
  '  out["cudart"]=os.path.join(list(s.submodule_search_locations)[0],"lib")',
  'except ModuleNotFoundError:',
  ' pass',
  'print(json.dumps(out))',
].join('\n');

interface TritonclientAnswer {
  version: string | null;
  binary: string | null;
  cudart: string | null;
}

/** The interpreter's tritonclient and its perf_analyzer, or a sentence saying why there is none. */
export function findTritonclientPerfAnalyzer(python: string, env: NodeJS.ProcessEnv = process.env): PerfAnalyzerBinary | string {
  let answer: TritonclientAnswer;
  try {
    answer = JSON.parse(execFileSync(python, ['-c', QUERY], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 }));
  } catch (err) {
    return `python interpreter ${JSON.stringify(python)} could not be asked (${(err as Error).message.split('\n')[0]})`;
  }
  if (!answer.version) return `tritonclient is not installed for ${python}`;
  if (!answer.binary || !isExecutable(answer.binary)) {
    return `tritonclient ${answer.version} of ${python} ships no perf_analyzer (the wheels up to 2.50.0 do)`;
  }
  const ld = [answer.cudart, env.LD_LIBRARY_PATH].filter(Boolean).join(delimiter);
  return { binary: answer.binary, source: 'tritonclient', env: ld ? { LD_LIBRARY_PATH: ld } : {}, version: answer.version };
}

export function locatePerfAnalyzer(options: LocatePerfAnalyzerOptions = {}): PerfAnalyzerBinary {
  const env = options.env ?? process.env;
  const given = (value: string, source: PerfAnalyzerBinary['source']): PerfAnalyzerBinary => {
    const binary = isAbsolute(value) ? value : resolve(options.cwd ?? process.cwd(), value);
    if (!isExecutable(binary)) throw new UserError(`nx-triton: perf_analyzer ${JSON.stringify(binary)} (from ${source}) is not an executable file`);
    return { binary, source, env: {} };
  };
  if (options.perfAnalyzer) return given(options.perfAnalyzer, 'option');
  if (env.NX_TRITON_PERF_ANALYZER) return given(env.NX_TRITON_PERF_ANALYZER, 'NX_TRITON_PERF_ANALYZER');
  const found = onPath('perf_analyzer', env);
  if (found) return { binary: found, source: 'PATH', env: {} };
  const python = resolvePython(options.python, env, options.cwd);
  const wheel = findTritonclientPerfAnalyzer(python, env);
  if (typeof wheel === 'string') {
    throw new UserError(
      `nx-triton: no perf_analyzer found: not set by the "perfAnalyzer" option or NX_TRITON_PERF_ANALYZER, not on PATH, and ${wheel}; ` +
        `install it with ${PERF_ANALYZER_INSTALL}`,
    );
  }
  return wheel;
}
