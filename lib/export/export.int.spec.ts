import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { exportDir } from '../layout';
import type { ExportSpec, ModelSpec } from '../model-spec/types';
import type { ModelConfig } from '../model-config';
import { TORCH1_PYTHON } from '../../test/pythons';
import { runExport } from '../targets/export';

const TORCH_PYTHON = TORCH1_PYTHON;
const roots: string[] = [];

function workspace(): string {
  const root = mkdtempSync(join(tmpdir(), 'nx-triton-export-spec-'));
  roots.push(root);
  return root;
}

afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

beforeEach(() => {
  delete process.env.NX_TRITON_PYTHON;
});

/** A project dir `models/<name>` with the given files, and its hand-made spec. */
function project(root: string, name: string, config: ModelConfig, exp: ExportSpec, files: Record<string, string> = {}): ModelSpec {
  const dir = join(root, 'models', name);
  mkdirSync(dir, { recursive: true });
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(join(dir, file, '..'), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
  return {
    file: `models/${name}/triton.yaml`,
    dir,
    name,
    config: { name, ...config },
    version: 1,
    previousVersions: {},
    export: exp,
    positions: { export: { line: 5, col: 1 }, 'export.command': { line: 6, col: 3 }, 'export.file': { line: 6, col: 3 } },
  };
}

const NET_PY = `
import torch

class Mlp(torch.nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.fc1 = torch.nn.Linear(16, hidden)
        self.fc2 = torch.nn.Linear(hidden, 3)

    def forward(self, features):
        return self.fc2(torch.relu(self.fc1(features)))

def build(hidden=8):
    print("building the model")
    return Mlp(hidden)

def load_weights():
    raise RuntimeError("weights are on fire")

def broken(**kwargs):
    return load_weights()
`;

function torchSpec(root: string, platform = 'onnxruntime_onnx', model = 'net:build'): ModelSpec {
  return project(
    root,
    'mlp',
    { platform, max_batch_size: 8 },
    { torch: { model, kwargs: { hidden: 8 }, input_shapes: { features: [null, 16] }, output_names: ['logits'] } },
    { 'net.py': NET_PY },
  );
}

async function rejection(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).name).toBe('UserError');
    return (err as Error).message;
  }
  throw new Error('expected the export to fail');
}

describe('runExport: torch', () => {
  it('exports ONNX with a dynamic batch that onnxruntime runs, byte-stable across runs', async () => {
    const root = workspace();
    const spec = torchSpec(root);
    const lines: string[] = [];
    const { outputPath } = await runExport({ spec, workspaceRoot: root, python: TORCH_PYTHON, log: (l) => lines.push(l) });
    expect(outputPath).toBe(join(exportDir(root, 'mlp'), 'model.onnx'));
    expect(readdirSync(exportDir(root, 'mlp')).sort()).toEqual(['model.onnx', 'verify.json']);
    expect(lines.at(-1)).toMatch(
      /^export mlp: torch net:build \(onnx via torchscript, torch 1\.13[^;]*; verified at 2 input sizes, max abs err [0-9.e-]+\) -> dist\/models\/mlp\/export\/model\.onnx \(\d+\.\d s\)$/,
    );
    expect(lines).toContain('  [mlp] building the model');
    const first = readFileSync(outputPath);

    await runExport({ spec, workspaceRoot: root, python: TORCH_PYTHON });
    expect(readFileSync(outputPath).equals(first)).toBe(true);

    const session = await ort.InferenceSession.create(outputPath);
    expect(session.inputNames).toEqual(['features']);
    expect(session.outputNames).toEqual(['logits']);
    for (const batch of [1, 5]) {
      const features = new ort.Tensor('float32', Float32Array.from({ length: batch * 16 }, (_, i) => i / 10), [batch, 16]);
      const out = await session.run({ features });
      expect(out.logits.dims).toEqual([batch, 3]);
    }
    await session.release();
  });

  it('exports TorchScript for pytorch_libtorch that torch.jit.load runs', async () => {
    const root = workspace();
    const { outputPath } = await runExport({ spec: torchSpec(root, 'pytorch_libtorch'), workspaceRoot: root, python: TORCH_PYTHON });
    expect(outputPath).toBe(join(exportDir(root, 'mlp'), 'model.pt'));
    const shape = execFileSync(TORCH_PYTHON, ['-c', 'import sys, torch; m = torch.jit.load(sys.argv[1]); print(list(m(torch.zeros(4, 16)).shape))', outputPath], {
      encoding: 'utf8',
    });
    expect(shape.trim()).toBe('[4, 3]');
  });

  it('says in one line that torch is missing from the interpreter', async () => {
    const root = workspace();
    const executable = execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();
    const message = await rejection(runExport({ spec: torchSpec(root), workspaceRoot: root, python: 'python3' }));
    expect(message).toBe(
      `models/mlp/triton.yaml:5:1: export.torch.model: torch is not installed for ${executable}; export.torch needs it: pip install "torch>=1.13" (or pip install -r node_modules/nx-triton/python/requirements.txt)`,
    );
    expect(existsSync(exportDir(root, 'mlp'))).toBe(false);
  });

  it('lets NX_TRITON_PYTHON override the option, and names an interpreter that does not exist', async () => {
    const root = workspace();
    process.env.NX_TRITON_PYTHON = join(root, 'no-such-python');
    const message = await rejection(runExport({ spec: torchSpec(root), workspaceRoot: root, python: TORCH_PYTHON }));
    expect(message).toBe(
      `nx-triton: python interpreter ${JSON.stringify(join(root, 'no-such-python'))} not found (it comes from NX_TRITON_PYTHON; point it at a Python that has torch)`,
    );
  });

  it("reports an exception in the user's module in one line at the innermost line of the user's own file; the traceback only when verbose", async () => {
    const root = workspace();
    const message = await rejection(runExport({ spec: torchSpec(root, 'onnxruntime_onnx', 'net:broken'), workspaceRoot: root, python: TORCH_PYTHON }));
    expect(message).toBe('models/mlp/triton.yaml:5:1: export.torch.model: "net:broken" failed at net.py:18: RuntimeError: weights are on fire');
    expect(message).not.toContain('Traceback (most recent call last)');
    process.env.NX_VERBOSE_LOGGING = 'true';
    try {
      const verbose = await rejection(runExport({ spec: torchSpec(root, 'onnxruntime_onnx', 'net:broken'), workspaceRoot: root, python: TORCH_PYTHON }));
      expect(verbose.split('\n')[0]).toBe(message);
      expect(verbose).toContain('Traceback (most recent call last)');
      expect(verbose).toContain('net.py", line 18, in load_weights');
    } finally {
      delete process.env.NX_VERBOSE_LOGGING;
    }
  });

  it('loads the checkpoint and feeds int64 example inputs shaped from the config inputs', async () => {
    const root = workspace();
    const bag = [
      'import torch',
      'class Bag(torch.nn.Module):',
      '    def __init__(self):',
      '        super().__init__()',
      '        self.emb = torch.nn.Embedding(10, 2)',
      '    def forward(self, tokens):',
      '        return self.emb(tokens).mean(dim=1)',
      'def build():',
      '    return Bag()',
    ].join('\n');
    const spec = project(
      root,
      'bag',
      { platform: 'onnxruntime_onnx', max_batch_size: 4, input: [{ name: 'tokens', data_type: 'TYPE_INT64', dims: [-1] }] },
      { torch: { model: 'bag:build', checkpoint: 'weights/bag.pt' } },
      { 'bag.py': bag },
    );
    mkdirSync(join(spec.dir, 'weights'));
    execFileSync(TORCH_PYTHON, ['-c', 'import sys, torch; torch.save({"emb.weight": torch.arange(20.).reshape(10, 2)}, sys.argv[1])', join(spec.dir, 'weights/bag.pt')]);
    const { outputPath } = await runExport({ spec, workspaceRoot: root, python: TORCH_PYTHON });
    const session = await ort.InferenceSession.create(outputPath);
    expect(session.outputNames).toEqual(['output__0']);
    const tokens = new ort.Tensor('int64', BigInt64Array.from([1n, 3n, 9n, 9n, 9n, 9n]), [2, 3]);
    const { output__0: output } = await session.run({ tokens });
    expect(output.dims).toEqual([2, 2]);
    // rows 1, 3, 9 of arange(20).reshape(10, 2), averaged; then row 9 alone
    expect(Array.from(output.data as Float32Array)).toEqual([26 / 3, 29 / 3, 18, 19].map(Math.fround));
    await session.release();
  });

  it('refuses a checkpoint outside the project before running python', async () => {
    const root = workspace();
    const spec = torchSpec(root);
    if ('torch' in spec.export!) spec.export.torch.checkpoint = '../other/nn.pt';
    const message = await rejection(runExport({ spec, workspaceRoot: root, python: 'no-python-needed' }));
    expect(message).toBe('models/mlp/triton.yaml:5:1: export.torch.checkpoint: "../other/nn.pt" leads outside the project directory');
  });
});

describe('runExport: command', () => {
  const writeArgs = 'import sys, json; open(sys.argv[1], "w").write(json.dumps(sys.argv[2:]))';

  it('passes {output} and keeps shell metacharacters literal (no shell)', async () => {
    const root = workspace();
    const args = ['$(touch pwned)', '`touch pwned2`; touch pwned3', 'a|b > c', '--out={output}'];
    const spec = project(root, 'scripted', { backend: 'python' }, { command: ['python3', '-c', writeArgs, '{output}', ...args] });
    const { outputPath } = await runExport({ spec, workspaceRoot: root });
    expect(outputPath).toBe(join(exportDir(root, 'scripted'), 'model.py'));
    const written = JSON.parse(readFileSync(outputPath, 'utf8'));
    expect(written.slice(0, 3)).toEqual(args.slice(0, 3));
    expect(written[3]).toMatch(/^--out=\/.+\/model\.py$/);
    for (const dir of [spec.dir, root, process.cwd()]) {
      for (const f of ['pwned', 'pwned2', 'pwned3', 'c']) expect(existsSync(join(dir, f))).toBe(false);
    }
  });

  it('writes real ONNX through a script run in the project directory', async () => {
    const root = workspace();
    const script = [
      'import sys',
      'from onnx import TensorProto, helper, save',
      'x = helper.make_tensor_value_info("text", TensorProto.FLOAT, ["batch", 4])',
      'y = helper.make_tensor_value_info("score", TensorProto.FLOAT, ["batch", 4])',
      'graph = helper.make_graph([helper.make_node("Relu", ["text"], ["score"])], "g", [x], [y])',
      'save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), sys.argv[1])',
    ].join('\n');
    const spec = project(root, 'scorer', { platform: 'onnxruntime_onnx' }, { command: ['{python}', 'make.py', '{output}'] }, { 'make.py': script });
    const { outputPath } = await runExport({ spec, workspaceRoot: root, python: TORCH_PYTHON });
    const session = await ort.InferenceSession.create(outputPath);
    const out = await session.run({ text: new ort.Tensor('float32', Float32Array.from([-1, 2, -3, 4, 5, -6, 7, -8]), [2, 4]) });
    expect(Array.from(out.score.data as Float32Array)).toEqual([0, 2, 0, 4, 5, 0, 7, 0]);
    await session.release();
  });

  it('smoke-runs an ONNX it did not export from torch: dtypes, shapes, finite outputs; verify: false skips it', async () => {
    const root = workspace();
    const script = (op: string) =>
      [
        'import sys',
        'from onnx import TensorProto, helper, save',
        'x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])',
        'y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4])',
        `graph = helper.make_graph([helper.make_node("${op}", ["x"], ["y"])], "g", [x], [y])`,
        'save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), sys.argv[1])',
      ].join('\n');
    const ok = project(root, 'relu', { platform: 'onnxruntime_onnx', max_batch_size: 8 }, { command: ['{python}', 'make.py', '{output}'] }, { 'make.py': script('Relu') });
    await runExport({ spec: ok, workspaceRoot: root, python: TORCH_PYTHON });
    const record = JSON.parse(readFileSync(join(exportDir(root, 'relu'), 'verify.json'), 'utf8'));
    expect(record.smoke).toBe(true);
    expect(record.cases).toEqual([
      { inputs: { x: [1, 4] }, outputs: { y: [1, 4] } },
      { inputs: { x: [8, 4] }, outputs: { y: [8, 4] } },
    ]);
    // log(x) of normal(0, 1) inputs: NaN for the negative ones
    const nan = project(root, 'log', { platform: 'onnxruntime_onnx', max_batch_size: 8 }, { command: ['{python}', 'make.py', '{output}'] }, { 'make.py': script('Log') });
    expect(await rejection(runExport({ spec: nan, workspaceRoot: root, python: TORCH_PYTHON }))).toMatch(
      /^models\/log\/triton\.yaml:6:3: export\.command: the exported ONNX fails its smoke run: output y has \d+ NaN or Inf element\(s\) at input shapes x\[1, 4\] \(set verify: false to skip it\)$/,
    );
    nan.verify = false;
    await runExport({ spec: nan, workspaceRoot: root, python: TORCH_PYTHON });
    expect(readdirSync(exportDir(root, 'log'))).toEqual(['model.onnx']);
  });

  it('fails with the exit code and the last lines of output', async () => {
    const root = workspace();
    const code = 'import sys; print("step 1"); print("out of memory", file=sys.stderr); sys.exit(3)';
    const spec = project(root, 'failing', { platform: 'onnxruntime_onnx' }, { command: ['python3', '-c', code] });
    const message = await rejection(runExport({ spec, workspaceRoot: root }));
    expect(message).toBe('models/failing/triton.yaml:6:3: export.command: "python3" exited with code 3; its last output:\nstep 1\nout of memory');
    expect(readdirSync(join(root, 'dist', 'models', 'failing'))).toEqual([]);
  });

  it('fails when the command does not exist, or writes nothing, or writes a broken ONNX', async () => {
    const root = workspace();
    const missing = project(root, 'm1', { platform: 'onnxruntime_onnx' }, { command: ['no-such-tool-xyz', '{output}'] });
    expect(await rejection(runExport({ spec: missing, workspaceRoot: root }))).toMatch(
      /^models\/m1\/triton\.yaml:6:3: export\.command: "no-such-tool-xyz" not found \(run from .+\)$/,
    );
    const lazy = project(root, 'm2', { platform: 'onnxruntime_onnx' }, { command: ['true'] });
    expect(await rejection(runExport({ spec: lazy, workspaceRoot: root }))).toBe(
      'models/m2/triton.yaml:6:3: export.command: the export did not write dist/models/m2/export/model.onnx',
    );
    const garbage = project(root, 'm3', { platform: 'onnxruntime_onnx' }, { command: ['python3', '-c', 'import sys; open(sys.argv[1], "wb").write(b"\\xff" * 64)', '{output}'] });
    expect(await rejection(runExport({ spec: garbage, workspaceRoot: root }))).toMatch(
      /^models\/m3\/triton\.yaml:6:3: export\.command: dist\/models\/m3\/export\/model\.onnx is not a readable ONNX model: /,
    );
  });
});

describe('runExport: file', () => {
  it('copies a file, replacing the previous export', async () => {
    const root = workspace();
    const spec = project(root, 'copied', { backend: 'python' }, { file: 'src/serve.py' }, { 'src/serve.py': 'print("hi")\n' });
    mkdirSync(exportDir(root, 'copied'), { recursive: true });
    writeFileSync(join(exportDir(root, 'copied'), 'stale.txt'), 'old');
    const { outputPath } = await runExport({ spec, workspaceRoot: root });
    expect(readdirSync(exportDir(root, 'copied'))).toEqual(['model.py']);
    expect(readFileSync(outputPath, 'utf8')).toBe('print("hi")\n');
  });

  it('copies a directory tree, following links that stay inside the project', async () => {
    const root = workspace();
    const spec = project(
      root,
      'saved',
      { platform: 'tensorflow_savedmodel' },
      { file: 'export/saved' },
      { 'export/saved/saved_model.pb': 'pb', 'export/saved/variables/variables.index': 'idx', 'assets/vocab.txt': 'a b c' },
    );
    symlinkSync('../../assets/vocab.txt', join(spec.dir, 'export/saved/vocab.txt'));
    const { outputPath } = await runExport({ spec, workspaceRoot: root });
    expect(outputPath).toBe(join(exportDir(root, 'saved'), 'model.savedmodel'));
    expect(readFileSync(join(outputPath, 'variables', 'variables.index'), 'utf8')).toBe('idx');
    expect(readFileSync(join(outputPath, 'saved_model.pb'), 'utf8')).toBe('pb');
    expect(readFileSync(join(outputPath, 'vocab.txt'), 'utf8')).toBe('a b c');
  });

  it('refuses a link inside the directory that points outside the project', async () => {
    const root = workspace();
    writeFileSync(join(root, 'secret.txt'), 'secret');
    const spec = project(root, 'leaky', { platform: 'tensorflow_savedmodel' }, { file: 'saved' }, { 'saved/saved_model.pb': 'pb' });
    symlinkSync(join(root, 'secret.txt'), join(spec.dir, 'saved', 'secret.txt'));
    const message = await rejection(runExport({ spec, workspaceRoot: root }));
    expect(message).toBe(`models/leaky/triton.yaml:6:3: export.file: "saved/secret.txt" is a link to ${join(root, 'secret.txt')}, outside the project directory`);
    expect(existsSync(exportDir(root, 'leaky'))).toBe(false);
    expect(readdirSync(join(root, 'dist', 'models', 'leaky'))).toEqual([]);
  });

  it('copies a prebuilt TensorRT plan as model.plan, and an ONNX source as model.onnx', async () => {
    const root = workspace();
    const plan = project(root, 'trt', { platform: 'tensorrt_plan' }, { file: 'model.plan' }, { 'model.plan': 'engine-bytes' });
    expect((await runExport({ spec: plan, workspaceRoot: root })).outputPath).toBe(join(exportDir(root, 'trt'), 'model.plan'));
    const onnx = project(root, 'trt2', { platform: 'tensorrt_plan' }, { file: 'garbage.onnx' }, { 'garbage.onnx': 'not onnx' });
    expect(await rejection(runExport({ spec: onnx, workspaceRoot: root }))).toMatch(/dist\/models\/trt2\/export\/model\.onnx is not a readable ONNX model/);
  });
});
