import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { checkExported } from '../export/check';
import { exportFilename } from '../export/filename';
import { smokeRunOnnx } from '../export/smoke';
import { SOURCES, type ExportSource } from '../export/sources';
import { exportError } from '../export/where';
import { loadWorkspaceSpec } from '../config/from-chain';
import { SpecError } from '../errors';
import { exportDir, onnxFileIn } from '../layout';
import { exportKind } from '../model-spec/plugin-keys';
import { placed } from '../model-spec/positions';
import { checkConfigBeforeExport } from '../repository/rules';
import type { ModelSpec } from '../model-spec/types';
import { resolvePython } from '../system/python';
import type { ProjectRun } from './project';

export interface RunExportOptions {
  spec: ModelSpec;
  workspaceRoot: string;
  /** The plugin's `python` option; env NX_TRITON_PYTHON overrides it. */
  python?: string;
  /** Progress lines and the export's own output (prefixed). */
  log?: (line: string) => void;
}

/**
 * The `export` target: runs the model's `export:` source (lib/export/sources/) into
 * `dist/models/<name>/export/<file>` and checks the result. The previous export is removed first;
 * the new one is made in a sibling directory and renamed into place, so a failed run leaves no
 * half-written export behind.
 */
export async function runExport(opts: RunExportOptions): Promise<{ outputPath: string }> {
  const { spec, workspaceRoot } = opts;
  const log = opts.log ?? (() => {});
  if (!spec.export) throw exportError(spec, 'export', 'this model has no export: section');
  const kind = exportKind(spec.export);
  const source = SOURCES[kind] as ExportSource<unknown>;
  const python = resolvePython(opts.python, process.env, workspaceRoot);
  const filename = exportFilename(spec);
  const finalDir = exportDir(workspaceRoot, spec.name);
  const outputPath = join(finalDir, filename);
  const shown = relative(workspaceRoot, outputPath) || outputPath;
  const staging = `${finalDir}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const stagedOutput = join(staging, filename);
  const started = performance.now();

  await rm(finalDir, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  try {
    const result = await source.run({
      spec,
      source: (spec.export as Record<string, unknown>)[kind],
      output: stagedOutput,
      python,
      onLine: (line) => log(`  [${spec.name}] ${line}`),
    });
    const signature = await checkExported(spec, result.key, stagedOutput, shown, result.expected);
    // A model no source compared with its origin gets a smoke run in onnxruntime.
    if (signature && !result.gated && spec.verify !== false) await smokeRunOnnx(spec, result.key, onnxFileIn(stagedOutput), staging, python, log);
    await rm(finalDir, { recursive: true, force: true });
    await rename(staging, finalDir);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    log(`export ${spec.name}: ${result.what} -> ${shown} (${seconds} s)`);
    return { outputPath };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/**
/**
 * The `export` target of a project: its triton.yaml loaded and checked, then the config rules that
 * need no model file (lib/repository/rules checkConfigBeforeExport), then its export run.
 * `tritonRelease` (nx.json) stands in for a model without its own `triton_release` (a torch export
 * then chooses an opset that release loads).
 */
export async function runExportTarget(o: ProjectRun & { python?: string; tritonRelease?: string }): Promise<{ outputPath: string }> {
  const loaded = loadWorkspaceSpec(o.workspaceRoot, o.specFile);
  const problems = checkConfigBeforeExport(loaded.config);
  if (problems.length > 0) throw new SpecError(problems.map((p) => placed(loaded, p.path, p.message)));
  const spec = loaded.tritonRelease === undefined && o.tritonRelease !== undefined ? { ...loaded, tritonRelease: o.tritonRelease } : loaded;
  return runExport({ spec, workspaceRoot: o.workspaceRoot, python: o.python, log: o.log });
}
