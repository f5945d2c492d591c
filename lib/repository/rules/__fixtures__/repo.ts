import { mkdirSync, mkdtempSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** linear.onnx: x FLOAT [batch, 4] -> y FLOAT [batch, 2] (torch.nn.Linear(4, 2)). */
export const LINEAR_ONNX = join(__dirname, 'linear.onnx');
/** add.onnx: x, y FLOAT [3, 4, 5] -> sum FLOAT [3, 4, 5] (test/onnx-testdata.py make-elementwise). */
export const ADD_ONNX = join(__dirname, 'add.onnx');
/** abs.onnx: x FLOAT [3, 4, 5] -> y FLOAT [3, 4, 5] (test/onnx-testdata.py make-elementwise). */
export const ABS_ONNX = join(__dirname, 'abs.onnx');
/** initializer-input.onnx: y = x + bias, bias [4] an overridable initializer (test/onnx-testdata.py make-initializer-input). */
export const INITIALIZER_INPUT_ONNX = join(__dirname, 'initializer-input.onnx');

/** A temp directory with files: `{ 'm/config.pbtxt': 'text', 'm/1/model.onnx': { copy: path } }`. */
export function tempRepo(files: Record<string, string | Buffer | { copy: string } | { dir: true }>): { dir: string; done: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'nx-triton-validate-'));
  for (const [rel, content] of Object.entries(files)) {
    const path = join(dir, rel);
    if (!Buffer.isBuffer(content) && typeof content === 'object' && 'dir' in content) {
      mkdirSync(path, { recursive: true });
      continue;
    }
    mkdirSync(dirname(path), { recursive: true });
    if (!Buffer.isBuffer(content) && typeof content === 'object' && 'copy' in content) copyFileSync(content.copy, path);
    else writeFileSync(path, content);
  }
  return { dir, done: () => rmSync(dir, { recursive: true, force: true }) };
}

/** 28 bytes of a TensorRT 10.3.0.26 plan header followed by a body. */
export function planBytes(): Buffer {
  const b = Buffer.alloc(64);
  b.write('ftrt', 0, 'latin1');
  b.set([10, 3, 0, 26], 24);
  return b;
}
