import { parseLocation } from '../deploy/location';
import { readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { UserError } from '../errors';
import { checkBackends } from '../triton/backends';
import { modelsNeeded } from '../triton/closure';
import { locateTritonServer } from '../triton/locate';
import { serveUntilStopped, type ServeIo, type ServeOptions } from '../triton/serve';

export interface ServeTargetOptions extends Omit<ServeOptions, 'models' | 'binary'> {
  /** The models to serve with what their ensembles need; none or empty: every model of the repository. */
  models?: string[];
  /** nx.json's `tritonRelease`: the NGC container tag named when the server lacks a backend. */
  tritonRelease?: string;
}

/**
 * The `serve` target and `nx-triton serve`: tritonserver on the repository with the models asked for
 * (and, for an ensemble, every model its steps name, read from the built config.pbtxt files) loaded,
 * until SIGINT/SIGTERM. Before any server starts, the server must have the backend of every model it
 * is to load (lib/triton/backends.ts): nvidia-pytriton's bundle has the python backend only.
 */
export async function runServe(o: ServeTargetOptions, io: ServeIo): Promise<void> {
  if (o.repository.startsWith('s3://')) {
    // A bucket (Triton's own s3:// form, checked here for a clear error): Triton reads the configs
    // itself, and loading an ensemble loads the models its steps name (measured with the bundled
    // Triton 2.51: --load-model=<ensemble> leaves its members READY too). The backend check reads
    // config.pbtxt files from a directory: Triton itself refuses a bucket's model it has no backend for.
    parseLocation(o.repository);
    const binary = locateTritonServer(o);
    await serveUntilStopped({ ...o, models: o.models?.length ? o.models : '*', binary }, io);
    return;
  }
  if (!statSync(o.repository, { throwIfNoEntry: false })?.isDirectory()) {
    throw new UserError(`nx-triton serve: the repository ${o.repository} is not a directory (build the models first)`);
  }
  const models = o.models?.length ? modelsNeeded(o.repository, o.models) : '*';
  const binary = locateTritonServer(o);
  await checkBackends({ repository: o.repository, models, binary, extraArgs: o.extraArgs, tritonRelease: o.tritonRelease });
  await serveUntilStopped({ ...o, models, binary }, io);
}

/** JSON with comments, as Nx reads nx.json: `//` and `/* *\/` outside strings are dropped. */
function withoutComments(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      const start = i;
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
      out += text.slice(start, i + 1);
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 1;
    } else out += c;
  }
  return out;
}

/** The Nx workspace around `cwd`: the nearest directory up from it with an nx.json, and nx-triton's plugin options there. */
export function nxWorkspaceAround(cwd: string): { root: string; options: Record<string, unknown> } | undefined {
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    const file = join(dir, 'nx.json');
    if (statSync(file, { throwIfNoEntry: false })?.isFile()) {
      let nxJson: { plugins?: unknown[] };
      try {
        nxJson = JSON.parse(withoutComments(readFileSync(file, 'utf8')));
      } catch (err) {
        throw new UserError(`nx-triton serve: cannot read ${file}: ${(err as Error).message}`);
      }
      const entry = (Array.isArray(nxJson?.plugins) ? nxJson.plugins : []).find(
        (p): p is { plugin: string; options?: Record<string, unknown> } => typeof p === 'object' && p !== null && (p as { plugin?: unknown }).plugin === 'nx-triton',
      );
      const options = entry?.options && typeof entry.options === 'object' ? entry.options : {};
      return { root: dir, options };
    }
    if (dirname(dir) === dir) return undefined;
  }
}

/** What `nx-triton serve` was given on its command line. */
export interface ServeFlags {
  python?: string;
  tritonserver?: string;
}

/**
 * `nx-triton serve`'s interpreter and server, first match wins: the flags (relative to the current
 * directory), env NX_TRITON_PYTHON / NX_TRITON_SERVER, then, inside an Nx workspace, nx.json's
 * nx-triton options `python` and `tritonserver` (relative to the workspace root), as the serve target
 * takes them; `tritonRelease` from there too. Returns the options for runServe and the env to locate with.
 */
export function cliServeSettings(
  flags: ServeFlags,
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
): Pick<ServeTargetOptions, 'python' | 'tritonserver' | 'tritonRelease' | 'env' | 'cwd'> {
  const workspace = nxWorkspaceAround(cwd);
  const text = (key: string): string | undefined => {
    const v = workspace?.options[key];
    return typeof v === 'string' && v !== '' ? v : undefined;
  };
  // A python that is a bare name is looked up on PATH (lib/system/python.ts); a tritonserver path never is.
  const pythonFrom = (base: string, p: string): string => (isAbsolute(p) || !p.includes('/') ? p : resolve(base, p));
  // locateTritonServer: an option wins over NX_TRITON_SERVER; resolvePython: NX_TRITON_PYTHON over an option.
  const nxServer = text('tritonserver');
  const tritonserver =
    flags.tritonserver !== undefined ? resolve(cwd, flags.tritonserver) : env.NX_TRITON_SERVER || nxServer === undefined ? undefined : resolve(workspace!.root, nxServer);
  const nxPython = text('python');
  const python = flags.python !== undefined ? pythonFrom(cwd, flags.python) : nxPython === undefined ? undefined : pythonFrom(workspace!.root, nxPython);
  const tritonRelease = text('tritonRelease');
  return {
    ...(tritonserver !== undefined ? { tritonserver } : {}),
    ...(python !== undefined ? { python } : {}),
    ...(tritonRelease !== undefined ? { tritonRelease } : {}),
    env: flags.python !== undefined ? { ...env, NX_TRITON_PYTHON: python } : env,
    cwd,
  };
}
