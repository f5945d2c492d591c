import { UserError } from '../errors';
import type { ProcessResult } from './process';

/** The interpreter that runs export helpers: env NX_TRITON_PYTHON, else the plugin's `python` option, else python3. */
export function resolvePython(option?: string, env: NodeJS.ProcessEnv = process.env): string {
  return env.NX_TRITON_PYTHON || option || 'python3';
}

/** The one-line error for an interpreter that could not be started. */
export function pythonNotStarted(python: string, result: ProcessResult, env: NodeJS.ProcessEnv = process.env): UserError {
  const source = env.NX_TRITON_PYTHON ? 'NX_TRITON_PYTHON' : `the plugin's "python" option`;
  const why = result.spawnError === 'ENOENT' ? 'not found' : `could not be started (${result.spawnError})`;
  return new UserError(
    `nx-triton: python interpreter ${JSON.stringify(python)} ${why} (it comes from ${source}; point it at a Python that has torch)`,
  );
}
