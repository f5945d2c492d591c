import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { logger, type ExecutorContext } from '@nx/devkit';
import { UserError } from '../lib/errors';

const SPEC_FILE = 'triton.yaml';

/** What an executor needs of the workspace to run lib/ for its project. */
export interface ProjectRun {
  workspaceRoot: string;
  /** The project's triton.yaml (absolute). */
  specFile: string;
  /** The triton.yaml of the project named `name`, if it has one (for `from:`). */
  resolveSpecFile: (name: string) => string | undefined;
  log: (line: string) => void;
}

/** The triton.yaml of the workspace project `name`, if that project has one. */
function specFileOf(context: ExecutorContext, name: string): string | undefined {
  const project = context.projectsConfigurations?.projects[name];
  if (!project) return undefined;
  const file = join(context.root, project.root, SPEC_FILE);
  return existsSync(file) ? file : undefined;
}

/**
 * Runs `work` for the executor's project: a UserError is printed as its message alone and
 * fails the task; anything else is a bug and propagates with its stack.
 */
export async function runForProject(
  context: ExecutorContext,
  verb: string,
  work: (project: ProjectRun) => Promise<void>,
): Promise<{ success: boolean }> {
  const project = context.projectName ? context.projectsConfigurations?.projects[context.projectName] : undefined;
  if (!project) {
    logger.error(`nx-triton: ${verb}: project ${JSON.stringify(context.projectName)} not found in the workspace`);
    return { success: false };
  }
  try {
    await work({
      workspaceRoot: context.root,
      specFile: join(context.root, project.root, SPEC_FILE),
      resolveSpecFile: (name) => specFileOf(context, name),
      log: (line) => logger.info(line),
    });
    return { success: true };
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    logger.error(err.message);
    return { success: false };
  }
}
