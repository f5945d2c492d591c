import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TORCH1_PYTHON, VENV_PYTHON, requirePython } from '../../test/pythons';
import { failure, Workspace } from '../../test/platforms/workspace';
import { readOnnxSignature } from '../onnx';
import { runExportTarget } from '../targets/export';
import { buildModel } from '../targets/build';

/**
 * Issue 19.12: a torch export's IR version and opset against `triton_release`, with real exports
 * (torch 2.15 from PyPI, Debian's torch 1.13). What each release's ONNX Runtime loads is the table
 * of lib/releases/onnxruntime.ts (measured on those runtimes: scripts/probe-onnxruntime.py).
 */

const NET_PY = `import torch

class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(4, 3)

    def forward(self, x):
        return torch.relu(self.fc(x))

def build():
    return Net()
`;

function yaml(extra: string): string {
  return `platform: onnxruntime_onnx
max_batch_size: 4
input: [{ name: x, data_type: fp32, dims: [4] }]
output: [{ name: y, data_type: fp32, dims: [3] }]
export:
  torch:
    model: net:build
${extra}`;
}

async function stamps(file: string): Promise<string> {
  const sig = await readOnnxSignature(file);
  return `IR ${sig.irVersion}, opset ${sig.opsets.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version}`;
}

let ws: Workspace | undefined;
afterEach(() => ws?.dispose());

describe('export.torch against triton_release (torch 2.x)', () => {
  it('the TorchScript-based exporter with no opset: opset 17 for Triton 24.01 (torch 2.15 would write 20), and the entry builds', async () => {
    ws = new Workspace(requirePython(VENV_PYTHON));
    ws.project('ts', yaml('    exporter: torchscript\ntriton_release: "24.01"\n'), { 'net.py': NET_PY });
    expect(await stamps(await ws.export('ts'))).toBe('IR 8, opset 17');
    expect((await ws.build('ts')).files).toEqual(['config.pbtxt', '1/model.onnx']);
    // Without a release, torch's own default: what Triton 24.01 refuses, and the build says why and what to do.
    ws.project('ts', yaml('    exporter: torchscript\n'), { 'net.py': NET_PY });
    expect(await stamps(await ws.export('ts'))).toBe('IR 9, opset 20');
    ws.project('ts', yaml('    exporter: torchscript\n') + 'triton_release: "24.01"\n', { 'net.py': NET_PY });
    expect(await failure(ws.build('ts'))).toBe(
      'models/ts/triton.yaml: 1/model.onnx: ONNX IR 9, opset 20: Triton 24.01 ships ONNX Runtime 1.16.3, which loads IR 9, opset 19 at most; ' +
        're-export it at opset 19 or lower (export.torch.opset: 19); or serve it with Triton 24.03 or newer (ONNX Runtime 1.17.2)',
    );
  });

  it('the dynamo exporter writes IR 10 at any opset: the build names the TorchScript-based exporter and the first release that loads it', async () => {
    ws = new Workspace(requirePython(VENV_PYTHON));
    ws.project('dyn', yaml('    exporter: dynamo\ntriton_release: "24.01"\n'), { 'net.py': NET_PY });
    expect(await stamps(await ws.export('dyn'))).toBe('IR 10, opset 17');
    expect(await failure(ws.build('dyn'))).toBe(
      'models/dyn/triton.yaml: 1/model.onnx: ONNX IR 10, opset 17: Triton 24.01 ships ONNX Runtime 1.16.3, which loads IR 9, opset 19 at most; ' +
        "re-export it with IR 9 or lower: torch's dynamo exporter writes IR 10 at any opset, its TorchScript-based one fits at opset 19 or lower " +
        '(export.torch.exporter: torchscript, export.torch.opset: 19); or serve it with Triton 24.05 or newer (ONNX Runtime 1.18.0)',
    );
    // A release that loads IR 10: torch's default opset (20) is kept, and it builds.
    ws.project('dyn', yaml('    exporter: dynamo\ntriton_release: "24.05"\n'), { 'net.py': NET_PY });
    expect(await stamps(await ws.export('dyn'))).toBe('IR 10, opset 20');
    expect((await ws.build('dyn')).files).toEqual(['config.pbtxt', '1/model.onnx']);
  });

  it('nx.json\'s tritonRelease stands in for a model without triton_release; a given opset is kept', async () => {
    ws = new Workspace(requirePython(VENV_PYTHON));
    const w = ws;
    w.project('ts', yaml('    exporter: torchscript\n'), { 'net.py': NET_PY });
    const target = (tritonRelease?: string) =>
      runExportTarget({ workspaceRoot: w.root, specFile: join(w.projectDir('ts'), 'triton.yaml'), resolveSpecFile: () => undefined, log: () => {}, python: w.python, tritonRelease });
    expect(await stamps((await target('23.01')).outputPath)).toBe('IR 8, opset 17');
    const build = (tritonRelease: string) =>
      buildModel({ workspaceRoot: w.root, specFile: join(w.projectDir('ts'), 'triton.yaml'), repository: 'dist/model-repository', resolveSpecFile: () => undefined, tritonRelease });
    expect((await build('23.01')).files).toEqual(['config.pbtxt', '1/model.onnx']);
    w.project('ts', yaml('    exporter: torchscript\n    opset: 18\n'), { 'net.py': NET_PY });
    expect(await stamps((await target('23.01')).outputPath)).toBe('IR 8, opset 18');
    expect(await failure(build('23.01'))).toMatch(/^models\/ts\/triton\.yaml: 1\/model\.onnx: ONNX IR 8, opset 18: Triton 23\.01 ships ONNX Runtime 1\.13\.1, which loads IR 8, opset 17 at most; re-export it at opset 17 or lower/);
  });
});

describe('export.torch against triton_release (torch 1.13)', () => {
  it('opset 17, the highest its exporter writes, for Triton 23.01 (its default is 14); it builds', async () => {
    ws = new Workspace(requirePython(TORCH1_PYTHON));
    ws.project('old', yaml('triton_release: "23.01"\n'), { 'net.py': NET_PY });
    expect(await stamps(await ws.export('old'))).toBe('IR 8, opset 17');
    expect((await ws.build('old')).files).toEqual(['config.pbtxt', '1/model.onnx']);
  });
});
