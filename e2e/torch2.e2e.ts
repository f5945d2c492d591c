import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { venvPython } from '../test/pythons';
import { TORCH_MODULES_PY } from '../test/torch-models';
import { createWorkspace, type Workspace } from './workspace';

/**
 * torch 2.x (.venv, PyPI) in a fresh workspace with the packed tarball: torchvision's resnet18 (random
 * weights) and a transformer text model with int64 ids and a mask, each with both ONNX exporters; the
 * fidelity gate passes and records its errors in verify.json; a baked batch and a traced branch fail
 * the build with the gate's table. And the export's cache key leaves instance_group out.
 */

const NET_PY = `${TORCH_MODULES_PY}

def text():
    return Text(vocab=100, dim=32, heads=4, feedforward=64, layers=2, classes=3)
`;

const resnetYaml = (exporter: string) => `platform: onnxruntime_onnx
max_batch_size: 4
instance_group: [{ kind: cpu, count: 1 }]
export:
  torch:
    model: torchvision.models:resnet18
    input_shapes: { x: [null, 3, 64, 64] }
    output_names: [logits]
    exporter: ${exporter}
`;

// The TorchScript-based exporter bakes nn.MultiheadAttention's sequence length into a Reshape (the
// gate catches it: "requested shape:{16,16,8}" at length 9), so that model gets a fixed length.
const textYaml = (exporter: string, seq: string) => `platform: onnxruntime_onnx
max_batch_size: 4
instance_group: [{ kind: cpu, count: 1 }]
input:
  - { name: input_ids, data_type: int64, dims: [${seq === 'null' ? -1 : seq}] }
  - { name: attention_mask, data_type: int64, dims: [${seq === 'null' ? -1 : seq}] }
export:
  torch:
    model: net:text
    input_shapes: { attention_mask: [null, ${seq}], input_ids: [null, ${seq}] }
    example_inputs: { input_ids: { randint: [0, 100] } }
    output_names: [scores]
    exporter: ${exporter}
`;

const brokenYaml = (model: string) => `platform: onnxruntime_onnx
max_batch_size: 4
export:
  torch:
    model: net:${model}
    input_shapes: { x: [null, 16] }
    output_names: [y]
    exporter: torchscript
`;

const MODELS = ['resnet_dynamo', 'resnet_ts', 'text_dynamo', 'text_ts'];

describe('torch 2.x exports with the fidelity gate, in a fresh workspace with the packed tarball', () => {
  let ws: Workspace;
  const env = () => ({ NX_TRITON_PYTHON: venvPython() });
  const project = (name: string, yaml: string) => {
    const dir = join(ws.root, 'models', name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'triton.yaml'), yaml);
    writeFileSync(join(dir, 'net.py'), NET_PY);
  };
  const record = (name: string) => JSON.parse(readFileSync(join(ws.root, 'dist', 'models', name, 'export', 'verify.json'), 'utf8'));

  beforeAll(() => {
    ws = createWorkspace();
    const init = ws.nx(['g', 'nx-triton:init']);
    if (init.code !== 0) throw new Error(init.out);
    project('resnet_dynamo', resnetYaml('dynamo'));
    project('resnet_ts', resnetYaml('torchscript'));
    project('text_dynamo', textYaml('dynamo', 'null'));
    project('text_ts', textYaml('torchscript', '16'));
    project('baked', brokenYaml('baked'));
    project('branchy', brokenYaml('branchy'));
  });
  afterAll(() => ws?.remove());

  it('exports resnet18 and the text model with both exporters; the gate passes and verify.json shows the errors', () => {
    const r = ws.nx(['run-many', '-t', 'build', '-p', MODELS.join(','), '--parallel=2'], env());
    expect(r.code, r.out).toBe(0);
    for (const name of MODELS) {
      const rec = record(name);
      expect(rec.exporter).toBe(name.endsWith('_ts') ? 'torchscript' : 'dynamo');
      expect(rec.torch).toMatch(/^2\./);
      expect(rec.runtime).toMatch(/^onnxruntime \d/);
      // batch 1 and max_batch_size; the text model's sequence dim at two lengths
      expect(rec.cases.map((c: { inputs: Record<string, number[]> }) => Object.values(c.inputs)[0][0])).toEqual([1, 4]);
      if (name === 'text_dynamo') {
        expect(rec.cases.map((c: { inputs: Record<string, number[]> }) => c.inputs.input_ids[1])).toEqual([16, 9]);
      }
      for (const c of rec.cases) {
        for (const o of c.outputs) {
          expect(o.failing, `${name} ${JSON.stringify(c.inputs)}: ${JSON.stringify(o)}`).toBe(0);
          expect(o.max_abs_err).toBeGreaterThanOrEqual(0);
          expect(o.max_rel_err).toBeGreaterThanOrEqual(0);
        }
      }
    }
    // the repository entry of the dynamo export: Triton's directory form, the sidecar beside the graph
    expect(readdirSync(join(ws.root, 'dist', 'model-repository', 'resnet_dynamo', '1', 'model.onnx')).sort()).toEqual(['model.onnx', 'model.onnx.data']);
  }, 900_000);

  it('a batch size baked into the graph fails the build with the table', () => {
    const r = ws.nx(['run', 'baked:build'], env());
    expect(r.code).not.toBe(0);
    expect(r.out).toContain('models/baked/triton.yaml:3:1: verify: the exported ONNX does not match the torch module');
    expect(r.out).toMatch(/ {2}output +input shapes +max abs err +max rel err +failing +atol +rtol/);
    expect(r.out).toMatch(/ {2}\* +x\[4, 16\] +onnxruntime [\d.]+ failed: .*Reshape/);
  });

  it('a traced graph that differs from the module fails the build with the table', () => {
    const r = ws.nx(['run', 'branchy:build'], env());
    expect(r.code).not.toBe(0);
    expect(r.out).toContain('models/branchy/triton.yaml:3:1: verify: the exported ONNX does not match the torch module');
    expect(r.out).toMatch(/ {2}y +x\[1, 16\] +\S+ +\S+ +\d+\/16 +0\.0001 +0\.001/);
  });

  it('an instance_group edit rebuilds the entry but takes the export from the cache', () => {
    const file = join(ws.root, 'models', 'text_dynamo', 'triton.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('count: 1', 'count: 2'));
    const r = ws.nx(['run', 'text_dynamo:build'], env());
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/Nx read the output from the cache instead of running the command for 1 out of 2 tasks/);
    expect(readFileSync(join(ws.root, 'dist', 'model-repository', 'text_dynamo', 'config.pbtxt'), 'utf8')).toMatch(/count: 2/);
  });
});
