import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { userErrorMessage } from '../../test/expect-user-error';
import { reluWithExternalData } from '../../test/onnx-bytes';
import { exportDir } from '../layout';
import { buildModel } from './build';

let ws: string;
beforeEach(() => {
  ws = mkdtempSync(join(tmpdir(), 'nx-triton-build-unit-'));
});
afterEach(() => rmSync(ws, { recursive: true, force: true }));

/** A model project `m` whose export already wrote `files` (name -> bytes). */
function exported(files: Record<string, string | Buffer>): string {
  const dir = join(ws, 'models/m');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'triton.yaml'), 'platform: onnxruntime_onnx\nmax_batch_size: 8\nexport: { file: model.onnx }\n');
  writeFileSync(join(dir, 'model.onnx'), 'the export target copied it into dist/');
  for (const [name, bytes] of Object.entries(files)) {
    mkdirSync(join(exportDir(ws, 'm'), name, '..'), { recursive: true });
    writeFileSync(join(exportDir(ws, 'm'), name), bytes);
  }
  return join(dir, 'triton.yaml');
}

const build = (specFile: string) => buildModel({ workspaceRoot: ws, specFile, repository: 'dist/model-repository', resolveSpecFile: () => undefined });

describe('buildModel: warm-up data', () => {
  it('refuses a warm-up file with the words of the import (issue 22, N18)', async () => {
    const specFile = exported({ 'model.onnx': reluWithExternalData([]) });
    writeFileSync(specFile, 'platform: onnxruntime_onnx\nmax_batch_size: 8\nexport: { file: model.onnx }\nmodel_warmup:\n  - name: w\n    batch_size: 1\n    inputs:\n      x: { data_type: fp32, dims: [4], input_data_file: ../labels.txt }\n');
    writeFileSync(join(ws, 'models/labels.txt'), 'outside the project');
    expect(await userErrorMessage(build(specFile))).toBe(
      'models/m/triton.yaml:8:40: model_warmup[0].inputs.x.input_data_file: "../labels.txt" cannot be used: it goes up with ".." (Triton reads warm-up data from the model\'s warmup/ directory)',
    );
  });
});

describe('buildModel: the external data of the export', () => {
  it('copies one file named under two spellings once, instead of a raw EEXIST (issue 22, N15)', async () => {
    const specFile = exported({ 'model.onnx': reluWithExternalData(['w.bin', './w.bin']), 'w.bin': 'w' });
    await build(specFile);
    expect(readdirSync(join(ws, 'dist/model-repository/m/1/model.onnx')).sort()).toEqual(['model.onnx', 'w.bin']);
  });

  it('never copies a file reached through a link out of the export directory (issue 22, N2)', async () => {
    const outside = join(ws, 'outside');
    mkdirSync(outside);
    writeFileSync(join(outside, 'w.bin'), 'secret');
    const specFile = exported({ 'model.onnx': reluWithExternalData(['sub/w.bin']) });
    symlinkSync(outside, join(exportDir(ws, 'm'), 'sub'));
    const message = await userErrorMessage(build(specFile));
    expect(message).toContain(`leads through a symbolic link to ${outside}`);
    expect(existsSync(join(ws, 'dist/model-repository/m'))).toBe(false);
  });
});
