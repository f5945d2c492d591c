import type { ExecutorContext } from '@nx/devkit';
import { runExportTarget } from '../../lib/targets/export';
import { runForProject, type CommonOptions } from '../run-for-project';

export interface ExportExecutorOptions extends CommonOptions {
  /** The plugin's `python` option; env NX_TRITON_PYTHON overrides it. */
  python?: string;
  /** The plugin's `tritonRelease` (torch exports only): an unset export.torch.opset is chosen to fit it. */
  tritonRelease?: string;
  /** Set by the plugin for the cache key only (see lib/model-spec/summary.ts exportDigest). */
  exportDigest?: string;
}

/** `export`: runs the export: section of the project's triton.yaml into dist/models/<name>/export/. */
export default async function exportExecutor(options: ExportExecutorOptions, context: ExecutorContext): Promise<{ success: boolean }> {
  return runForProject(context, 'export', async (project) => {
    await runExportTarget({ ...project, python: options.python, tritonRelease: options.tritonRelease });
  }, options);
}
