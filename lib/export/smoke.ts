import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { packageRoot } from '../system/package-root';
import type { ModelSpec } from '../model-spec/types';
import { runProcess } from '../system/process';
import { VERIFY_RECORD_FILE } from '../layout';
import { exportError } from './where';

/** python/smoke_onnx.py's exit code for a model that failed the run. */
const EXIT_FAILED = 4;

/**
 * The gate for an ONNX made by `export.command` or given by `export.file` (no torch module to compare
 * with): python/smoke_onnx.py runs it in onnxruntime at batch 1 and max_batch_size and checks dtypes,
 * shapes and finiteness. Skipped, with a log line, when the interpreter has no onnxruntime.
 */
export async function smokeRunOnnx(spec: ModelSpec, key: string, onnxFile: string, recordDir: string, python: string, log: (line: string) => void): Promise<void> {
  const helper = join(packageRoot(), 'python', 'smoke_onnx.py');
  const result = await runProcess(python, [helper, onnxFile, String(spec.config.max_batch_size ?? 0)], { cwd: spec.dir });
  let reply: { skipped?: string; error?: string; cases?: unknown[] } | undefined;
  try {
    reply = JSON.parse(result.stdout.trim().split('\n').pop() ?? '');
  } catch {
    reply = undefined;
  }
  if (result.spawnError || !reply) {
    log(`smoke run of ${spec.name} skipped: ${python} ${result.spawnError ? 'could not be started' : 'gave no answer'}`);
    return;
  }
  if (reply.skipped) {
    log(`smoke run of ${spec.name} skipped: ${reply.skipped}`);
    return;
  }
  if (result.exitCode === EXIT_FAILED && reply.error) {
    throw exportError(spec, spec.positions.verify ? 'verify' : key, `the exported ONNX fails its smoke run: ${reply.error} (set verify: false to skip it)`);
  }
  await writeFile(join(recordDir, VERIFY_RECORD_FILE), `${JSON.stringify({ smoke: true, ...reply }, null, 2)}\n`);
}
