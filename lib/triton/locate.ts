import { execFileSync } from 'node:child_process';
import { childEnv } from '../system/child-env';
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { UserError } from '../errors';
import { resolvePython } from '../system/python';

/**
 * Where the `tritonserver` binary comes from, first match wins:
 *   1. the plugin option `tritonserver` (nx.json) or the CLI's `--tritonserver`;
 *   2. env `NX_TRITON_SERVER`;
 *   3. `tritonserver` on PATH (NGC's Triton container: /opt/tritonserver/bin);
 *   4. the server bundled in `nvidia-pytriton`, installed for the configured interpreter
 *      (env NX_TRITON_PYTHON, the plugin's `python` option, else python3).
 */
export interface TritonServerBinary {
  binary: string;
  source: 'option' | 'NX_TRITON_SERVER' | 'PATH' | 'nvidia-pytriton';
  /** nvidia-pytriton's bundle only: what a run needs besides the binary. */
  bundle?: PytritonBundle;
}

/**
 * nvidia-pytriton's layout (`pytriton/tritonserver/`): `bin/tritonserver`, `backends/python/`
 * (without its stub), `python_backend_stubs/<X.Y>/triton_python_backend_stub`, `caches/`; the
 * shared libraries in `nvidia_pytriton.libs/` beside the package.
 */
export interface PytritonBundle {
  root: string;
  libDir: string;
  /** The stub for the interpreter's Python version (the python backend runs model.py in it). */
  stub: string;
  /** The interpreter's Python version (`3.11`) and the directories its stub needs. */
  pythonVersion: string;
  /** The interpreter's site-packages (model.py imports numpy and friends from there) and libpython's dir. */
  sitePackages: string[];
  libPythonDir: string;
}

export interface LocateOptions {
  /** Plugin option / `--tritonserver`. */
  tritonserver?: string;
  /** Plugin option `python` (the interpreter whose nvidia-pytriton is looked for). */
  python?: string;
  env?: NodeJS.ProcessEnv;
  /** Workspace root: a relative option is resolved from here. */
  cwd?: string;
}

export function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function onPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const file = join(dir, name);
    if (isExecutable(file)) return file;
  }
  return undefined;
}

const QUERY =
  'import json,sys,site,sysconfig,importlib.util as u\n' +
  's=u.find_spec("pytriton")\n' +
  'print(json.dumps({"pkg":list(s.submodule_search_locations)[0] if s else None,' +
  '"version":"%d.%d"%sys.version_info[:2],"site":site.getsitepackages(),"libdir":sysconfig.get_config_var("LIBDIR")}))';

/** nvidia-pytriton's bundle for `python`, or a sentence saying why there is none. */
export function findPytritonBundle(python: string): PytritonBundle | string {
  let answer: { pkg: string | null; version: string; site: string[]; libdir: string };
  try {
    answer = JSON.parse(execFileSync(python, ['-c', QUERY], { encoding: 'utf8', env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 }));
  } catch (err) {
    return `python interpreter ${JSON.stringify(python)} could not be asked (${(err as Error).message.split('\n')[0]})`;
  }
  if (!answer.pkg) return `nvidia-pytriton is not installed for ${python} (pip install nvidia-pytriton)`;
  const root = join(answer.pkg, 'tritonserver');
  const stub = join(root, 'python_backend_stubs', answer.version, 'triton_python_backend_stub');
  if (!existsSync(join(root, 'bin', 'tritonserver'))) return `nvidia-pytriton at ${answer.pkg} has no tritonserver`;
  if (!existsSync(stub)) return `nvidia-pytriton at ${answer.pkg} has no python backend stub for Python ${answer.version}`;
  return {
    root,
    libDir: resolve(answer.pkg, '..', 'nvidia_pytriton.libs'),
    stub,
    pythonVersion: answer.version,
    sitePackages: answer.site,
    libPythonDir: answer.libdir,
  };
}

export function locateTritonServer(options: LocateOptions = {}): TritonServerBinary {
  const env = options.env ?? process.env;
  const given = (value: string, source: TritonServerBinary['source']): TritonServerBinary => {
    const binary = isAbsolute(value) ? value : resolve(options.cwd ?? process.cwd(), value);
    if (!isExecutable(binary)) throw new UserError(`nx-triton: tritonserver ${JSON.stringify(binary)} (from ${source}) is not an executable file`);
    return { binary, source };
  };
  if (options.tritonserver) return given(options.tritonserver, 'option');
  if (env.NX_TRITON_SERVER) return given(env.NX_TRITON_SERVER, 'NX_TRITON_SERVER');
  const found = onPath('tritonserver', env);
  if (found) return { binary: found, source: 'PATH' };
  const python = resolvePython(options.python, env, options.cwd);
  const bundle = findPytritonBundle(python);
  if (typeof bundle === 'string') {
    throw new UserError(
      `nx-triton: no tritonserver found: not set by the "tritonserver" option or NX_TRITON_SERVER, not on PATH, and ${bundle}`,
    );
  }
  return { binary: join(bundle.root, 'bin', 'tritonserver'), source: 'nvidia-pytriton', bundle };
}
