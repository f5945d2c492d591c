import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigFileError, readRegularFile } from '../../proto/read-regular-file';
import { parsePbtxt } from '../../proto/text-format';
import { SpecError, UserError } from '../errors';
import type { ModelConfig } from '../model-config';
import { completeBackend, loadedVersions, versionDirs } from '../repository/rules';
import type { TritonServerBinary } from './locate';

/**
 * Whether a server has the backend of every model it is to load, found as Triton's core finds it
 * (core src/backend_model.cc, TritonModel::GetBackendLibraryProperties and
 * GetBackendRuntimeLibraryName): with no `runtime` in the config, `libtriton_<backend>.so` in the
 * version directory, the model directory or `<backend-directory>/<backend>/`; else a python-based
 * backend, `<backend-directory>/<backend>/model.py`, run by the python backend's
 * `libtriton_python.so` (searched there and in `<backend-directory>/python/`). A `runtime` of
 * `model.py` asks for a python-based backend; another `runtime` names the library to search for.
 * Without it Triton fails each such model with "unable to find backend library for backend '<b>',
 * try specifying runtime on the model configuration", which is no help when the backend is simply
 * not installed.
 */

/** Triton's default `--backend-directory` (server src/command_line_parser.h). */
export const DEFAULT_BACKEND_DIRECTORY = '/opt/tritonserver/backends';

/**
 * The backend directory `binary` runs with: nvidia-pytriton's bundle gets its own (lib/triton/server.ts
 * copies its python backend, the bundle's only one); any other server `--backend-directory` from
 * `extraArgs`, else Triton's default.
 */
export function backendDirectoryOf(binary: TritonServerBinary, extraArgs: readonly string[] = []): string {
  if (binary.bundle) return join(binary.bundle.root, 'backends');
  let dir = DEFAULT_BACKEND_DIRECTORY;
  extraArgs.forEach((arg, i) => {
    const m = /^--backend-directory(?:=(.*))?$/.exec(arg);
    if (m) dir = m[1] ?? extraArgs[i + 1] ?? dir;
  });
  return dir;
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

const cppLibrary = (backend: string): string => `libtriton_${backend}.so`;

/** The backends a backend directory holds: each `<name>/` with `libtriton_<name>.so`, or a `model.py` (a python-based backend). */
export function backendsIn(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((n) => isFile(join(dir, n, cppLibrary(n))) || isFile(join(dir, n, 'model.py'))).sort();
}

/** A model the server could not load for want of its backend. */
export interface MissingBackend {
  model: string;
  /** The backend, with the runtime the config names when it names one (`custom (runtime libfoo.so)`). */
  backend: string;
}

/** The config of a model directory as Triton reads it, or undefined when it has none Triton would take (Triton then says why). */
function readConfig(modelDir: string): ModelConfig | undefined {
  let text: string;
  try {
    text = readRegularFile(join(modelDir, 'config.pbtxt'));
  } catch (err) {
    // No config.pbtxt: Triton auto-completes one from the model files.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    if (err instanceof ConfigFileError) return undefined;
    throw err;
  }
  try {
    return parsePbtxt(text, join(modelDir, 'config.pbtxt'));
  } catch (err) {
    if (err instanceof SpecError) return undefined;
    throw err;
  }
}

/** Whether the backend of `config` (a model in `modelDir`) is found: Triton's search, for every version it loads. */
async function hasBackend(modelDir: string, config: ModelConfig, backendDir: string): Promise<boolean> {
  const backend = config.backend ?? '';
  const versions = loadedVersions(config, (await versionDirs(modelDir)).versions);
  const searchPaths = (v: number | undefined) => [...(v === undefined ? [] : [join(modelDir, String(v))]), modelDir, join(backendDir, backend)];
  const everyVersion = (found: (v: number | undefined) => boolean) => (versions.length > 0 ? versions.every(found) : found(undefined));
  const inSearch = (v: number | undefined, lib: string, extra: string[] = []) => [...searchPaths(v), ...extra].some((p) => isFile(join(p, lib)));
  const pythonBased = () => isFile(join(backendDir, backend, 'model.py')) && everyVersion((v) => inSearch(v, cppLibrary('python'), [join(backendDir, 'python')]));
  const runtime = config.runtime ?? '';
  if (runtime === 'model.py') return pythonBased();
  if (runtime) return everyVersion((v) => inSearch(v, runtime));
  return everyVersion((v) => inSearch(v, cppLibrary(backend))) || pythonBased();
}

/**
 * The models of `models` (names in `repository`; `'*'`: every model directory, as Triton's
 * `--load-model=*` loads them) whose backend `backendDir` lacks. Ensembles need none; a model whose
 * config Triton would refuse, or whose backend cannot be told, is left to Triton's own message.
 */
export async function missingBackends(repository: string, models: readonly string[] | '*', backendDir: string): Promise<MissingBackend[]> {
  const names =
    models === '*' ? readdirSync(repository).filter((n) => !n.startsWith('.') && isDir(join(repository, n))).sort() : [...models];
  const missing: MissingBackend[] = [];
  for (const model of names) {
    const modelDir = join(repository, model);
    const read = readConfig(modelDir);
    if (!read) continue;
    const config = await completeBackend({ ...read, name: read.name || model }, modelDir);
    if (config.platform === 'ensemble' || !config.backend) continue;
    if (!(await hasBackend(modelDir, config, backendDir))) {
      missing.push({ model, backend: config.runtime ? `${config.backend} (runtime ${config.runtime})` : config.backend });
    }
  }
  return missing;
}

export interface BackendCheck {
  repository: string;
  models: readonly string[] | '*';
  binary: TritonServerBinary;
  extraArgs?: readonly string[];
  /** nx.json `tritonRelease`, for the NGC container's tag in the message. */
  tritonRelease?: string;
}

/**
 * Refuses, before any server starts, a repository whose models need backends the server does not
 * have: one line naming the models, the backends missing, and how to get a full Triton.
 */
export async function checkBackends(o: BackendCheck): Promise<void> {
  const backendDir = backendDirectoryOf(o.binary, o.extraArgs);
  const missing = await missingBackends(o.repository, o.models, backendDir);
  if (missing.length === 0) return;
  const backends = [...new Set(missing.map((m) => m.backend))];
  const byBackend = backends.map((b) => `${b} (${missing.filter((m) => m.backend === b).map((m) => m.model).join(', ')})`);
  const has = backendsIn(backendDir);
  const server = `tritonserver ${o.binary.binary} (from ${o.binary.source})`;
  const where = o.binary.bundle
    ? `${server} is nvidia-pytriton's, which has the python backend only`
    : `${server} looks for backends in ${backendDir}, which has ${has.length > 0 ? has.join(', ') : existsSync(backendDir) ? 'none' : 'none (no such directory)'}`;
  const tag = `nvcr.io/nvidia/tritonserver:${o.tritonRelease ?? '<YY.MM>'}-py3`;
  throw new UserError(
    `nx-triton serve: no backend for ${missing.length === 1 ? 'a model' : `${missing.length} models`} it is to load: ${byBackend.join('; ')}. ` +
      `${where}. Serve ${missing.length === 1 ? 'it' : 'them'} with a full Triton: NGC's container ${tag} has every backend ` +
      `(/opt/tritonserver/bin/tritonserver, backends in ${DEFAULT_BACKEND_DIRECTORY}); point the "tritonserver" option in nx.json, ` +
      'NX_TRITON_SERVER or --tritonserver at its tritonserver',
  );
}
