// Model files the benchmarks read: generated once per `npm run bench` under bench/.work/.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { benchDir, ensureDir, log, run, SYSTEM_PYTHON, workDir } from './util.mjs';

const models = join(workDir, 'models');

/** A real, small ONNX model from Debian's libonnx-testdata. */
export const SMALL_ONNX = '/usr/share/libonnx-testdata/data/node/test_relu/model.onnx';

function make(args, result) {
  if (existsSync(result)) return result;
  ensureDir(models);
  log(`generating ${result} (${args.join(' ')})`);
  run([SYSTEM_PYTHON, join(benchDir, 'make_onnx.py'), ...args]);
  return result;
}

/** ~1 GiB ONNX with its weights inside the file: 4 FLOAT [8192, 8192] MatMul weights. */
export function onnx1GiBInternal() {
  const file = join(models, 'internal-1g.onnx');
  return make(['--mib', '1024', '--tensors', '4', '--out', file], file);
}

/** ~2 GiB ONNX in Triton's directory form: `model.onnx/{model.onnx, weights.bin}` (8 x 256 MiB). */
export function onnx2GiBExternal() {
  const dir = join(models, 'external-2g', 'model.onnx');
  if (existsSync(join(dir, 'model.onnx')) && statSync(join(dir, 'weights.bin')).size >= 2 ** 31) return dir;
  return make(['--mib', '2048', '--tensors', '8', '--external', dir], dir);
}

export function modelsDir() {
  return models;
}
