import { join, relative } from 'node:path';
import { logger, type ExecutorContext } from '@nx/devkit';
import { UserError } from '../../lib/errors';
import { runExport } from '../../lib/export';
import { loadSpec } from '../../lib/spec';

export interface ExportExecutorOptions {
  /** The plugin's `python` option; env NX_TRITON_PYTHON overrides it. */
  python?: string;
}

const SPEC_FILE = 'triton.yaml';

/** `export`: runs the export: section of the project's triton.yaml into dist/models/<name>/export/. */
export default async function exportExecutor(
  options: ExportExecutorOptions,
  context: ExecutorContext,
): Promise<{ success: boolean }> {
  const project = context.projectName ? context.projectsConfigurations?.projects[context.projectName] : undefined;
  if (!project) {
    logger.error(`nx-triton: export: project ${JSON.stringify(context.projectName)} not found in the workspace`);
    return { success: false };
  }
  const specFile = join(context.root, project.root, SPEC_FILE);
  try {
    const spec = loadSpec(specFile, { displayPath: relative(context.root, specFile) });
    await runExport({ spec, workspaceRoot: context.root, python: options.python, log: (line) => logger.info(line) });
    return { success: true };
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    logger.error(err.message);
    return { success: false };
  }
}
