import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { VENV_PYTHON, requirePython } from '../../test/pythons';
import { loadWorkspaceSpec } from '../config/from-chain';
import { exportDir } from '../layout';
import { runExport } from '../targets/export';
import { decodeRecorded, smokeCase, type RecordedSample } from './smoke';

// The two ends of the recorded smoke sample: the fidelity gate (python/nxt_verify.py) writes its
// first case into verify.json; deploy's smoke inference (smoke.ts) reads it. Here the exported ONNX
// runs in onnxruntime on the recorded inputs and must give the recorded (torch's) outputs.

const NET_PY = `
import torch

class Mlp(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(16, 3)

    def forward(self, features):
        return torch.tanh(self.fc(features))

def build():
    return Mlp()
`;

const root = mkdtempSync(join(tmpdir(), 'nx-triton-sample-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("the export's recorded smoke sample", () => {
  it('is the gate\'s first case: the inputs and torch\'s outputs, which the exported model reproduces and the smoke check accepts', async () => {
    const dir = join(root, 'models', 'mlp');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'net.py'), NET_PY);
    writeFileSync(
      join(dir, 'triton.yaml'),
      'platform: onnxruntime_onnx\nmax_batch_size: 8\nexport:\n  torch:\n    model: net:build\n    exporter: torchscript\n    input_shapes: { features: [null, 16] }\n    output_names: [logits]\n',
    );
    const spec = loadWorkspaceSpec(root, join(dir, 'triton.yaml'));
    const { outputPath } = await runExport({ spec, workspaceRoot: root, python: requirePython(VENV_PYTHON) });
    const record = JSON.parse(readFileSync(join(exportDir(root, 'mlp'), 'verify.json'), 'utf8'));
    const sample = record.sample as RecordedSample;
    expect(sample.inputs.map((t) => [t.name, t.datatype, t.shape])).toEqual([['features', 'FP32', [1, 16]]]);
    expect(sample.outputs.map((t) => [t.name, t.datatype, t.shape, t.atol, t.rtol])).toEqual([['logits', 'FP32', [1, 3], 1e-4, 1e-3]]);
    const features = decodeRecorded(sample.inputs[0]) as number[];
    const session = await ort.InferenceSession.create(outputPath);
    const result = await session.run({ features: new ort.Tensor('float32', Float32Array.from(features), [1, 16]) });
    const got = Array.from(result.logits.data as Float32Array);
    const recorded = decodeRecorded(sample.outputs[0]) as number[];
    got.forEach((v, i) => expect(Math.abs(v - recorded[i])).toBeLessThan(1e-4));
    const smoke = smokeCase(
      { name: 'mlp', max_batch_size: 8, input: [{ name: 'features', data_type: 'TYPE_FP32', dims: [16] }], output: [{ name: 'logits', data_type: 'TYPE_FP32', dims: [3] }] },
      sample,
    );
    if ('skip' in smoke) throw new Error(smoke.skip);
    expect(smoke.source).toBe('recorded sample');
    expect(smoke.check([{ name: 'logits', datatype: 'FP32', shape: [1, 3], data: got }])).toBeUndefined();
    expect(smoke.check([{ name: 'logits', datatype: 'FP32', shape: [1, 3], data: got.map((v) => v + 0.5) }])).toMatch(/^output logits differs from the export's recorded output in 3 of 3 element\(s\)/);
  }, 300_000);
});
