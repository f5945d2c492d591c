import type { ExecutorContext } from '@nx/devkit';
import { runTuneTarget } from '../../lib/targets/tune';
import { pluginOptionsOf, runForProject } from '../run-for-project';

export interface TuneExecutorOptions {
  repository?: string;
  /** `1,8,32` on the command line; a list or one number in project.json. */
  concurrency?: number[] | number | string;
  /** The p99 latency budget (ms). */
  latencyBudgetMs?: number;
  objective?: 'throughput' | 'latency';
  /** Configs measured at most, the built one included. */
  maxCandidates?: number;
  /** perf_analyzer's measurement window (ms). */
  measurementIntervalMs?: number;
  /** Measure and report; leave triton.yaml as it is. */
  dryRun?: boolean;
  /** Default: the plugin option `tritonserver`; env NX_TRITON_SERVER overrides both. */
  tritonserver?: string;
  /** Default: the plugin option `perfAnalyzer`; env NX_TRITON_PERF_ANALYZER overrides both. */
  perfAnalyzer?: string;
  /** The interpreter whose nvidia-pytriton and tritonclient are used when nothing else is found (default: the plugin option `python`). */
  python?: string;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * `tune` (not cached): measures candidate serving configs of this model's built entry on a
 * tritonserver of its own and writes the winner into triton.yaml (lib/targets/tune.ts).
 * `--dryRun` measures and reports without writing triton.yaml, so it is not runForProject's dry run.
 */
export default async function tuneExecutor(options: TuneExecutorOptions, context: ExecutorContext): Promise<{ success: boolean }> {
  return runForProject(context, 'tune', async (project) => {
    // The target's own options (project.json) first, then the plugin's (nx.json); the env overrides both.
    const plugin = pluginOptionsOf(context);
    await runTuneTarget(project, {
      ...options,
      tritonserver: process.env.NX_TRITON_SERVER ? undefined : (options.tritonserver ?? text(plugin.tritonserver)),
      perfAnalyzer: process.env.NX_TRITON_PERF_ANALYZER ? undefined : (options.perfAnalyzer ?? text(plugin.perfAnalyzer)),
      python: options.python ?? text(plugin.python),
    });
  });
}
