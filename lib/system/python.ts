import { isAbsolute, resolve } from 'node:path';
import { UserError } from '../errors';
import type { ProcessResult } from './process';

/**
 * The interpreter that runs export helpers: env NX_TRITON_PYTHON, else the plugin's `python` option,
 * else python3. A relative path (`.venv/bin/python`) is taken from the workspace root, as the runtime
 * cache input that fingerprints it runs there; a bare name is looked up on PATH.
 */
export function resolvePython(option?: string, env: NodeJS.ProcessEnv = process.env, workspaceRoot?: string): string {
  const python = env.NX_TRITON_PYTHON || option || 'python3';
  return workspaceRoot && python.includes('/') && !isAbsolute(python) ? resolve(workspaceRoot, python) : python;
}

/** The one-line error for an interpreter that could not be started. */
export function pythonNotStarted(python: string, result: ProcessResult, env: NodeJS.ProcessEnv = process.env): UserError {
  const source = env.NX_TRITON_PYTHON ? 'NX_TRITON_PYTHON' : `the plugin's "python" option`;
  const why = result.spawnError === 'ENOENT' ? 'not found' : `could not be started (${result.spawnError})`;
  return new UserError(
    `nx-triton: python interpreter ${JSON.stringify(python)} ${why} (it comes from ${source}; point it at a Python that has torch)`,
  );
}
