import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePbtxt } from '../proto/text-format';
import { TORCH1_PYTHON } from '../test/pythons';
import { createWorkspace, repoRoot, type Workspace } from './workspace';

// torch 1.13 with onnxruntime: the fidelity gate runs the exported ONNX.
const torchPython = { NX_TRITON_PYTHON: TORCH1_PYTHON };

const NET = `import torch


class Net(torch.nn.Module):
    def __init__(self, hidden: int):
        super().__init__()
        self.body = torch.nn.Sequential(torch.nn.Linear(256, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 10))

    # Inputs are bound by name: input_shapes says "input".
    def forward(self, input):
        return torch.softmax(self.body(input), dim=-1)


def build(hidden: int = 64) -> torch.nn.Module:
    return Net(hidden)
`;

describe('the ONNX path in a fresh workspace with the packed tarball (nx 24.0.6)', () => {
  let ws: Workspace;
  const yamlPath = () => join(ws.root, 'models/my_nn/triton.yaml');

  beforeAll(() => {
    ws = createWorkspace();
  });
  afterAll(() => ws?.remove());

  it('nx g nx-triton:init registers the plugin once', () => {
    for (let i = 0; i < 2; i++) {
      const r = ws.nx(['g', 'nx-triton:init']);
      expect(r.code, r.out).toBe(0);
    }
    const nxJson = JSON.parse(readFileSync(join(ws.root, 'nx.json'), 'utf8'));
    const entries = (nxJson.plugins ?? []).filter((p: unknown) => (typeof p === 'string' ? p : (p as { plugin: string }).plugin) === 'nx-triton');
    expect(entries).toHaveLength(1);
  });

  it('nx g nx-triton:model scaffolds triton.yaml, and refuses a taken name', () => {
    const r = ws.nx(['g', 'nx-triton:model', 'my_nn', '--platform=onnxruntime_onnx', '--maxBatchSize=64', '--instanceGroup=gpu:4']);
    expect(r.code, r.out).toBe(0);
    const text = readFileSync(yamlPath(), 'utf8');
    expect(text).toMatch(/max_batch_size: 64/);
    expect(text).toMatch(/kind: KIND_GPU|kind: gpu/);
    const again = ws.nx(['g', 'nx-triton:model', 'my_nn']);
    expect(again.code).not.toBe(0);
    expect(again.out).toContain('Model my_nn already exists');
  });

  it('builds the repository entry from a torch.nn.Module, and Triton-parsable config.pbtxt', () => {
    writeFileSync(join(ws.root, 'models/my_nn/net.py'), NET);
    const generated = readFileSync(yamlPath(), 'utf8').replace(/^export:[\s\S]*?(?=^\S|$(?![\s\S]))/m, '');
    writeFileSync(
      yamlPath(),
      `${generated}\nexport:\n  torch:\n    model: net:build\n    kwargs: { hidden: 32 }\n    input_shapes: { input: [null, 256] }\n    output_names: [probs]\n`,
    );
    const r = ws.nx(['run', 'my_nn:build'], torchPython);
    expect(r.code, r.out).toBe(0);
    const entry = join(ws.root, 'dist/model-repository/my_nn');
    expect(existsSync(join(entry, '1/model.onnx'))).toBe(true);
    const pbtxt = readFileSync(join(entry, 'config.pbtxt'), 'utf8');
    // The same C++ text-format parser Triton uses accepts it.
    execFileSync('protoc', ['--encode=inference.ModelConfig', `--proto_path=${join(repoRoot, 'proto')}`, 'model_config.proto'], {
      input: pbtxt,
    });
    const config = parsePbtxt(pbtxt, 'config.pbtxt');
    expect(config).toMatchObject({
      name: 'my_nn',
      platform: 'onnxruntime_onnx',
      max_batch_size: 64,
      input: [{ name: 'input', data_type: 'TYPE_FP32', dims: [256] }],
      output: [{ name: 'probs', data_type: 'TYPE_FP32', dims: [10] }],
      instance_group: [{ kind: 'KIND_GPU', count: 4 }],
    });
  });

  it('the exported model runs in onnxruntime at the config\'s shapes', async () => {
    const session = await ort.InferenceSession.create(join(ws.root, 'dist/model-repository/my_nn/1/model.onnx'));
    for (const batch of [1, 64]) {
      const x = new ort.Tensor('float32', new Float32Array(batch * 256).fill(0.5), [batch, 256]);
      const out = await session.run({ input: x });
      expect(out.probs.dims).toEqual([batch, 10]);
      const firstRow = Array.from(out.probs.data as Float32Array).slice(0, 10);
      expect(firstRow.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
    }
  });

  it('the second run is all cache hits', () => {
    const r = ws.nx(['run', 'my_nn:build'], torchPython);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/Nx read the output from the cache instead of running the command for 2 out of 2 tasks/);
  });

  it('nx run-many -t build builds every model', () => {
    const g = ws.nx(['g', 'nx-triton:model', 'second', '--maxBatchSize=8', '--source=torch']);
    expect(g.code, g.out).toBe(0);
    const r = ws.nx(['run-many', '-t', 'build'], torchPython);
    expect(r.code, r.out).toBe(0);
    expect(existsSync(join(ws.root, 'dist/model-repository/second/config.pbtxt'))).toBe(true);
    expect(existsSync(join(ws.root, 'dist/model-repository/second/1/model.onnx'))).toBe(true);
  });

  it('a typo in triton.yaml fails with the file, line and key, and writes nothing', () => {
    const before = readFileSync(join(ws.root, 'dist/model-repository/my_nn/config.pbtxt'), 'utf8');
    const good = readFileSync(yamlPath(), 'utf8');
    writeFileSync(yamlPath(), good.replace('max_batch_size:', 'max_batch_sise:'));
    const r = ws.nx(['run', 'my_nn:build'], torchPython);
    writeFileSync(yamlPath(), good);
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/models\/my_nn\/triton\.yaml:\d+:\d+: max_batch_sise: unknown key/);
    expect(r.out).toContain('max_batch_size');
    expect(r.out).not.toMatch(/^\s+at .*\.js:\d+/m);
    expect(readFileSync(join(ws.root, 'dist/model-repository/my_nn/config.pbtxt'), 'utf8')).toBe(before);
  });
});
