import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { exportDir } from '../layout';
import type { ModelSpec } from '../types';
import { checkExported, type ExpectedGraph } from './check';
import { exportCommand } from './command';
import { exportFile } from './copy';
import { exportFilename } from './filename';
import { resolvePython } from '../system/python';
import { smokeRunOnnx } from './smoke';
import { exportTorch, type VerifyRecord } from './torch';
import { exportError } from './where';

export { exportFilename, torchFormat } from './filename';
export { resolvePython } from '../system/python';
export { commandArgv } from './command';
export { VERIFY_RECORD_FILE } from './torch';

export interface RunExportOptions {
  spec: ModelSpec;
  workspaceRoot: string;
  /** The plugin's `python` option; env NX_TRITON_PYTHON overrides it. */
  python?: string;
  /** Progress lines and the export's own output (prefixed). */
  log?: (line: string) => void;
}

/**
 * Runs the model's `export:` source into `dist/models/<name>/export/<file>` and checks the result.
 * The previous export is removed first; the new one is made in a sibling directory and renamed into
 * place, so a failed run leaves no half-written export behind.
 */
export async function runExport(opts: RunExportOptions): Promise<{ outputPath: string }> {
  const { spec, workspaceRoot } = opts;
  const log = opts.log ?? (() => {});
  const source = spec.export;
  if (!source) throw exportError(spec, 'export', 'this model has no export: section');
  const python = resolvePython(opts.python, process.env, workspaceRoot);
  const filename = exportFilename(spec);
  const finalDir = exportDir(workspaceRoot, spec.name);
  const outputPath = join(finalDir, filename);
  const shown = relative(workspaceRoot, outputPath) || outputPath;
  const staging = `${finalDir}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const stagedOutput = join(staging, filename);
  const onLine = (line: string) => log(`  [${spec.name}] ${line}`);
  const started = performance.now();

  await rm(finalDir, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  try {
    let what: string;
    let key: string;
    let expected: ExpectedGraph | undefined;
    if ('torch' in source) {
      key = 'export.torch.model';
      const result = await exportTorch(spec, source.torch, stagedOutput, python, onLine);
      const how = result.exporter ? `${result.format} via ${result.exporter}` : result.format;
      what = `torch ${source.torch.model} (${how}, torch ${result.torchVersion}${verifiedText(result.verify)})`;
      if (result.format === 'onnx') {
        expected = {
          inputs: Object.keys(result.inputShapes).map((name) => ({ name, dataType: result.inputDtypes[name] ?? 'TYPE_FP32' })),
          outputs: result.outputNames,
        };
      }
    } else if ('command' in source) {
      key = 'export.command';
      await exportCommand(spec, source.command, stagedOutput, python, onLine);
      what = `command ${shorten(source.command.join(' '))}`;
    } else {
      key = 'export.file';
      await exportFile(spec, source.file, stagedOutput);
      what = `file ${source.file}`;
    }
    const signature = await checkExported(spec, key, stagedOutput, shown, expected);
    if (signature && !('torch' in source) && spec.verify !== false) {
      const onnxFile = stagedOutput.endsWith('.onnx') && (await stat(stagedOutput)).isDirectory() ? join(stagedOutput, 'model.onnx') : stagedOutput;
      await smokeRunOnnx(spec, key, onnxFile, staging, python, log);
    }
    await rm(finalDir, { recursive: true, force: true });
    await rename(staging, finalDir);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    log(`export ${spec.name}: ${what} -> ${shown} (${seconds} s)`);
    return { outputPath };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** `; verified at 3 input sizes, max abs err 1.2e-06` for the log line. */
function verifiedText(record: VerifyRecord | undefined): string {
  if (!record) return '';
  const errors = record.cases.flatMap((c) => c.outputs.map((o) => o.max_abs_err ?? 0));
  return `; verified at ${record.cases.length} input sizes, max abs err ${Math.max(0, ...errors).toPrecision(2)}`;
}

function shorten(text: string, max = 60): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
