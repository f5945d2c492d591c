import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { logger, type ExecutorContext } from '@nx/devkit';
import { loadWorkspaceSpec } from '../lib/config/from-chain';
import { printable, UserError } from '../lib/errors';
import { SPEC_FILE } from '../lib/layout';
import { withProgress } from '../lib/system/progress';
import type { ProjectRun } from '../lib/targets/project';



/** The triton.yaml of the workspace project `name`, if that project has one. */
function specFileOf(context: ExecutorContext, name: string): string | undefined {
  const project = context.projectsConfigurations?.projects[name];
  if (!project) return undefined;
  const file = join(context.root, project.root, SPEC_FILE);
  return existsSync(file) ? file : undefined;
}

/** Steps that may take minutes: they print progress lines with the elapsed time (lib/system/progress.ts). */
const LONG_STEPS: ReadonlySet<string> = new Set(['export', 'engine']);

/** Options every executor takes (each executor's schema.json declares them). */
export interface CommonOptions {
  /** Check triton.yaml and say what the target would write; run and write nothing. */
  dryRun?: boolean;
}

/** The target's outputs with Nx's tokens filled in, workspace-relative. */
function outputsOf(context: ExecutorContext, projectRoot: string): string[] {
  const target = context.targetName ? context.projectsConfigurations?.projects[context.projectName ?? '']?.targets?.[context.targetName] : undefined;
  return (target?.outputs ?? []).map((o) => o.replace(/^\{workspaceRoot\}\//, '').replace(/\{projectRoot\}/g, projectRoot));
}

/**
 * Runs `work` for the executor's project: a UserError is printed as its message alone and
 * fails the task; anything else is a bug and propagates with its stack.
 */
export async function runForProject(
  context: ExecutorContext,
  verb: string,
  work: (project: ProjectRun) => Promise<void>,
  options: CommonOptions = {},
): Promise<{ success: boolean }> {
  const project = context.projectName ? context.projectsConfigurations?.projects[context.projectName] : undefined;
  if (!project) {
    logger.error(`nx-triton: ${verb}: project ${JSON.stringify(context.projectName)} not found in the workspace`);
    return { success: false };
  }
  const run: ProjectRun = {
    workspaceRoot: context.root,
    specFile: join(context.root, project.root, SPEC_FILE),
    resolveSpecFile: (name) => specFileOf(context, name),
    log: (line) => logger.info(printable(line)),
  };
  try {
    if (options.dryRun) {
      const spec = loadWorkspaceSpec(run.workspaceRoot, run.specFile);
      const outputs = outputsOf(context, project.root);
      run.log(`nx-triton: --dry-run: ${spec.file} is valid; ${verb} of ${spec.name} would write ${outputs.join(', ') || 'nothing'} (nothing was run or written)`);
      return { success: true };
    }
    if (LONG_STEPS.has(verb)) await withProgress(`nx-triton: ${verb} ${context.projectName}`, { log: run.log }, () => work(run));
    else await work(run);
    return { success: true };
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    logger.error(printable(err.message));
    return { success: false };
  }
}

/** nx-triton's plugin options in nx.json (`"nx-triton"` or `{ "plugin": "nx-triton", "options": … }`). */
export function pluginOptionsOf(context: ExecutorContext): Record<string, unknown> {
  for (const entry of context.nxJsonConfiguration?.plugins ?? []) {
    if (typeof entry === 'object' && entry && entry.plugin === 'nx-triton') return (entry.options ?? {}) as Record<string, unknown>;
  }
  return {};
}
