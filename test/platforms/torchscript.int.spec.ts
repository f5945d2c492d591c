import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parsePbtxt } from '../../proto/text-format';
import { parseSpec } from '../../lib/model-spec';
import { failure, TORCH_PYTHON, Workspace } from './workspace';

let ws: Workspace;
beforeEach(() => {
  ws = new Workspace();
});
afterEach(() => ws.dispose());

const NET_PY = `
import torch

class Scorer(torch.nn.Module):
    """Returns class scores and, per row, the index of the best class."""

    def __init__(self, features=16, classes=3):
        super().__init__()
        self.fc = torch.nn.Linear(features, classes)

    # Inputs are bound by name: this forward's parameter is the config's input name.
    def forward(self, INPUT__0):
        scores = self.fc(INPUT__0)
        return scores, scores.argmax(-1)

def build(**kwargs):
    return Scorer(**kwargs)

class Prefix(torch.nn.Module):
    def forward(self, x):
        return torch.cumsum(x, -1) * 2.0

def prefix():
    return Prefix()
`;

/** Loads model.pt with torch.jit.load, runs it on zeros of the given shapes, prints forward()'s argument names and output shapes and types. */
function runTorchScript(file: string, shapes: number[][]): { args: string[]; outputs: Array<[number[], string]> } {
  const script = [
    'import json, sys, torch',
    'm = torch.jit.load(sys.argv[1])',
    'out = m(*[torch.zeros(s) for s in json.loads(sys.argv[2])])',
    'out = out if isinstance(out, tuple) else (out,)',
    'print(json.dumps({"args": [a.name for a in m.forward.schema.arguments][1:], "outputs": [[list(o.shape), str(o.dtype)] for o in out]}))',
  ].join('\n');
  return JSON.parse(execFileSync(TORCH_PYTHON, ['-c', script, file, JSON.stringify(shapes)], { encoding: 'utf8' }));
}

describe('pytorch_libtorch', () => {
  it('traces to model.pt with Triton NAME__index names, I/O derived from input_shapes and the traced outputs', async () => {
    ws.project(
      'scorer',
      `platform: pytorch_libtorch
max_batch_size: 8
input:
  - { name: INPUT__0, data_type: fp32 }
export:
  torch:
    model: net:build
    input_shapes: { INPUT__0: [null, 16] }
    output_names: [OUTPUT__0, OUTPUT__1]
`,
      { 'net.py': NET_PY },
    );
    const built = await ws.exportAndBuild('scorer');
    expect(built.files).toEqual(['config.pbtxt', '1/model.pt']);
    const config = parsePbtxt(readFileSync(join(built.entryDir, 'config.pbtxt'), 'utf8'), 'config.pbtxt');
    expect(config).toMatchObject({
      name: 'scorer',
      platform: 'pytorch_libtorch',
      max_batch_size: 8,
      input: [{ name: 'INPUT__0', data_type: 'TYPE_FP32', dims: [16] }],
      output: [
        { name: 'OUTPUT__0', data_type: 'TYPE_FP32', dims: [3] },
        // A per-row scalar: Triton's batched form of a rank-0 tensor.
        { name: 'OUTPUT__1', data_type: 'TYPE_INT64', dims: [1], reshape: {} },
      ],
    });
    // The saved forward() takes the config's input name; it runs at the config's shapes.
    const run = runTorchScript(join(built.entryDir, '1', 'model.pt'), [[5, 16]]);
    expect(run).toEqual({ args: ['INPUT__0'], outputs: [[[5, 3], 'torch.float32'], [[5], 'torch.int64']] });
    expect(await ws.validate()).toEqual([]);
    expect((await ws.triton()).map((r) => r.split(': ')[1])).toEqual(['no-backend']);
    // The export's own record never reaches the repository.
    expect(readdirSync(join(built.entryDir, '1'))).toEqual(['model.pt']);
  });

  it('scripts with export.torch.script: true, keeping forward()\'s argument names and dynamic dims', async () => {
    ws.project(
      'prefix',
      `platform: pytorch_libtorch
max_batch_size: 0
export:
  torch:
    model: net:prefix
    script: true
    input_shapes: { x: [4, null] }
    output_names: [y]
`,
      { 'net.py': NET_PY },
    );
    const built = await ws.exportAndBuild('prefix');
    expect(built.config.input).toEqual([{ name: 'x', data_type: 'TYPE_FP32', dims: [4, -1] }]);
    expect(built.config.output).toEqual([{ name: 'y', data_type: 'TYPE_FP32', dims: [4, -1] }]);
    const model = join(built.entryDir, '1', 'model.pt');
    // A scripted module keeps its control flow; traced, the shape would be fixed. It runs at two widths.
    expect(runTorchScript(model, [[4, 7]])).toEqual({ args: ['x'], outputs: [[[4, 7], 'torch.float32']] });
    expect(runTorchScript(model, [[4, 30]]).outputs).toEqual([[[4, 30], 'torch.float32']]);
    expect(await ws.validate()).toEqual([]);
    expect((await ws.triton()).map((r) => r.split(': ')[1])).toEqual(['no-backend']);
  });

  it('takes export.torch.script as a boolean', () => {
    const yaml = (v: string) => `platform: pytorch_libtorch\nexport:\n  torch:\n    model: net:build\n    script: ${v}\n`;
    const spec = parseSpec(yaml('true'), 'models/m/triton.yaml', ws.root, { checkFiles: false });
    expect(spec.export).toEqual({ torch: { model: 'net:build', script: true } });
    expect(() => parseSpec(yaml('"yes"'), 'models/m/triton.yaml', ws.root, { checkFiles: false })).toThrow(
      'models/m/triton.yaml:5:5: export.torch.script: expected true or false, got string "yes"',
    );
  });

  it('refuses script: true for an ONNX model', async () => {
    ws.project('onnx_scripted', 'platform: onnxruntime_onnx\nexport:\n  torch:\n    model: net:prefix\n    script: true\n    input_shapes: { x: [4, 4] }\n', { 'net.py': NET_PY });
    expect(await failure(ws.export('onnx_scripted'))).toBe(
      'models/onnx_scripted/triton.yaml:5:5: export.torch.script: script: true makes TorchScript, which only pytorch_libtorch serves; ONNX is always traced',
    );
  });

  it('checks given I/O against the traced module and NAME__index order', async () => {
    ws.project(
      'scorer',
      `platform: pytorch_libtorch
max_batch_size: 8
output:
  - { name: OUTPUT__0, data_type: fp16, dims: [3] }
export:
  torch:
    model: net:build
    input_shapes: { INPUT__0: [null, 16] }
    output_names: [OUTPUT__1, OUTPUT__0]
`,
      { 'net.py': NET_PY },
    );
    await ws.export('scorer');
    const message = await failure(ws.build('scorer'));
    expect(message.split('\n')).toEqual([
      'models/scorer/triton.yaml:4:24: output[0].data_type: TYPE_FP16 does not match the exported TorchScript module: output "OUTPUT__0" is TYPE_INT64',
      'models/scorer/triton.yaml:4:41: output[0].dims: [3] does not match the exported TorchScript module: output "OUTPUT__0" has shape [?] (batch dim first)',
      'models/scorer/triton.yaml:9:20: export.torch.output_names[0]: "OUTPUT__1" is output 0 of the exported module (export.torch.output_names order), but Triton would map it to index 1',
      'models/scorer/triton.yaml:9:31: export.torch.output_names[1]: "OUTPUT__0" is output 1 of the exported module (export.torch.output_names order), but Triton would map it to index 0',
    ]);
    expect(existsSync(ws.repository)).toBe(false);
  });

  it('needs input and output in triton.yaml for a TorchScript file, naming the missing key', async () => {
    ws.project('prebuilt', 'platform: pytorch_libtorch\nmax_batch_size: 0\nexport:\n  file: traced.pt\n', { 'traced.pt': 'torchscript-archive-bytes' });
    await ws.export('prebuilt');
    expect((await failure(ws.build('prebuilt'))).split('\n')).toEqual([
      'models/prebuilt/triton.yaml: input: required: a TorchScript model has no signature nx-triton can read; declare each input with name, data_type and dims, or export it with export.torch (input_shapes, output_names)',
      'models/prebuilt/triton.yaml: output: required: a TorchScript model has no signature nx-triton can read; declare each output with name, data_type and dims, or export it with export.torch (input_shapes, output_names)',
    ]);
    ws.project(
      'prebuilt',
      `platform: pytorch_libtorch
max_batch_size: 0
input: [{ name: INPUT__0, data_type: fp32, dims: [16] }, { name: INPUT__1, data_type: int64, dims: [1] }]
output: [{ name: OUTPUT__0, data_type: fp32, dims: [3] }]
export:
  file: traced.pt
`,
    );
    const built = await ws.exportAndBuild('prebuilt');
    expect(built.files).toEqual(['config.pbtxt', '1/model.pt']);
    expect(readFileSync(join(built.entryDir, '1', 'model.pt'), 'utf8')).toBe('torchscript-archive-bytes');
  });
});
