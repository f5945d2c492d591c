import { resolve } from 'node:path';
import * as devkit from '@nx/devkit';
import { logger, type ExecutorContext } from '@nx/devkit';
import { UserError } from '../../lib/errors';
import { DEFAULT_REPOSITORY } from '../../lib/layout';
import { runServe } from '../../lib/targets/serve';
import { pluginOptionsOf, runForProject } from '../run-for-project';

export interface ServeExecutorOptions {
  repository?: string;
  /** Triton's HTTP port (default 8000, as Triton's own); 0: a free port (the target's readyWhen signal follows it). */
  httpPort?: number;
  /** 0 or absent: a free port. */
  grpcPort?: number;
  metricsPort?: number;
  /** Default: the plugin option `tritonserver` (nx.json); env NX_TRITON_SERVER overrides both. */
  tritonserver?: string;
  /** The interpreter whose nvidia-pytriton bundle is used when no other server is found (default: the plugin option `python`). */
  python?: string;
  /** More models to load beside this one (and what they need). */
  models?: string[];
}

export const DEFAULT_HTTP_PORT = 8000;

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function port(value: unknown, key: string, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UserError(`nx-triton: serve: option ${key} must be a port number from 0 to 65535 (got ${JSON.stringify(value)})`);
  return n;
}

/**
 * Tells Nx the task is ready (the target's `readyWhen: { signal: true }`, Nx 24), with the URL the
 * server really listens on: Nx passes it to the tasks that waited as NX_READY_URL. Older Nx has no
 * readyWhen, and no emitReadySignal.
 */
function signalReady(url: string): void {
  const emit = (devkit as { emitReadySignal?: (server?: string) => boolean }).emitReadySignal;
  emit?.(`${url}/`);
}

/**
 * `serve` (continuous): runs tritonserver on the repository with this model and what it needs
 * loaded, until Ctrl-C (SIGINT/SIGTERM), then stops it and its stubs.
 */
export default async function serveExecutor(options: ServeExecutorOptions, context: ExecutorContext): Promise<{ success: boolean }> {
  return runForProject(context, 'serve', async (project) => {
    const repository = resolve(project.workspaceRoot, options.repository ?? DEFAULT_REPOSITORY);
    // The target's own options (project.json) first, then the plugin's (nx.json).
    const plugin = pluginOptionsOf(context);
    const tritonserver = options.tritonserver ?? text(plugin.tritonserver);
    await runServe(
      {
        repository,
        models: [context.projectName as string, ...(options.models ?? [])],
        httpPort: port(options.httpPort, 'httpPort', DEFAULT_HTTP_PORT),
        grpcPort: port(options.grpcPort, 'grpcPort', 0),
        metricsPort: port(options.metricsPort, 'metricsPort', 0),
        // NX_TRITON_SERVER overrides the plugin option (locateTritonServer prefers an option).
        tritonserver: process.env.NX_TRITON_SERVER ? undefined : tritonserver,
        python: options.python ?? text(plugin.python),
        tritonRelease: text(plugin.tritonRelease),
        cwd: project.workspaceRoot,
      },
      { info: (line) => logger.info(line), log: (line) => logger.info(line), ready: signalReady },
    );
  });
}
