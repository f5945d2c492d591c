import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../system/package-root';
import { loadSpec } from '../model-spec';
import { TORCH1_PYTHON } from '../../test/pythons';
import { runExport } from '../targets/export';

const TORCH_PYTHON = TORCH1_PYTHON;
const MODELS = join(packageRoot(), 'examples', 'models');
const out = mkdtempSync(join(tmpdir(), 'nx-triton-examples-'));

afterAll(() => rmSync(out, { recursive: true, force: true }));

async function exportExample(name: string): Promise<string> {
  const file = join(MODELS, name, 'triton.yaml');
  const spec = loadSpec(file, { displayPath: relative(packageRoot(), file) });
  const { outputPath } = await runExport({ spec, workspaceRoot: out, python: TORCH_PYTHON });
  return outputPath;
}

describe('examples/models', () => {
  it('exports mlp_classifier from torch to an ONNX that classifies any batch size', async () => {
    const model = await exportExample('mlp_classifier');
    const session = await ort.InferenceSession.create(model);
    for (const batch of [1, 7]) {
      const features = new ort.Tensor('float32', new Float32Array(batch * 16).fill(0.5), [batch, 16]);
      expect((await session.run({ features })).logits.dims).toEqual([batch, 4]);
    }
    await session.release();
  });

  it('exports text_scorer with its own script to an ONNX scoring each text in (0, 1), byte-stable', async () => {
    const model = await exportExample('text_scorer');
    const first = readFileSync(model);
    expect(readFileSync(await exportExample('text_scorer')).equals(first)).toBe(true);
    const session = await ort.InferenceSession.create(model);
    const ids = new ort.Tensor('int64', BigInt64Array.from([1n, 2n, 3n, 4n, 5n, 999n]), [2, 3]);
    const { score } = await session.run({ token_ids: ids });
    expect(score.dims).toEqual([2, 1]);
    for (const s of score.data as Float32Array) expect(s > 0 && s < 1).toBe(true);
    await session.release();
  });

  it('leaves the example projects untouched (no __pycache__)', () => {
    for (const name of readdirSync(MODELS)) expect(readdirSync(join(MODELS, name))).not.toContain('__pycache__');
  });
});
