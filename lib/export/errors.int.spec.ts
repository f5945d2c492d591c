import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { userErrorMessage } from '../../test/expect-user-error';
import { venvPython } from '../../test/pythons';
import { loadSpec } from '../model-spec';
import { runExport } from '../targets/export';

/**
 * What a failing torch export says: one line per problem, at the user's own file and line, a hint only
 * where it is right, and never a Python traceback unless Nx runs verbose. torch 2.x (.venv).
 */

const root = mkdtempSync(join(tmpdir(), 'nx-triton-export-errors-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function exportOf(name: string, yaml: string, files: Record<string, string>, env: Record<string, string> = {}): Promise<string> {
  const dir = join(root, 'models', name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'triton.yaml'), yaml);
  for (const [f, text] of Object.entries(files)) writeFileSync(join(dir, f), text);
  const spec = loadSpec(join(dir, 'triton.yaml'), { displayPath: `models/${name}/triton.yaml` });
  const saved = { ...process.env };
  Object.assign(process.env, env);
  return userErrorMessage(runExport({ spec, workspaceRoot: root, python: venvPython() })).finally(() => {
    process.env = saved;
  });
}

const YAML = (shapes: string, extra = '') => `platform: onnxruntime_onnx\nmax_batch_size: 8\nexport:\n  torch:\n    model: net:build\n    input_shapes: ${shapes}\n${extra}`;

describe('errors of a torch export', () => {
  it('a SyntaxError in the model module: its file, line and column, and the line with a caret', async () => {
    const message = await exportOf('syntax', YAML('{ x: [null, 4] }'), { 'net.py': 'import torch\n\ndef build():\n    x = (1 +\n    return torch.nn.Linear(4, 2)\n' });
    expect(message).toBe(
      [
        `models/syntax/triton.yaml:5:5: export.torch.model: importing "net": net.py:4:9: SyntaxError: '(' was never closed`,
        '        x = (1 +',
        '            ^',
      ].join('\n'),
    );
  });

  it('an op that got the wrong type: the line of the user\'s code, and the hint to set dtype', async () => {
    const net = 'import torch\n\nclass Emb(torch.nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.e = torch.nn.Embedding(100, 8)\n\n    def forward(self, tokens):\n        return self.e(tokens).mean(1)\n\ndef build():\n    return Emb()\n';
    const message = await exportOf('dtype', YAML('{ tokens: [null, null] }'), { 'net.py': net });
    expect(message).toBe(
      'models/dtype/triton.yaml:5:5: export.torch.model: export.torch.model "net:build" on the example inputs tokens[2, 16] float32 normal[0.0, 1.0] ' +
        '(null dims were given the sizes tokens dim 0 = 2, tokens dim 1 = 16) failed at net.py:9: RuntimeError: Expected tensor for argument #1 ' +
        "'indices' to have one of the following scalar types: Long, Int; but got torch.FloatTensor instead (while checking arguments for embedding); " +
        'an input has the wrong type for the op that reads it (token ids must be integers): set its dtype in export.torch.example_inputs ' +
        '(e.g. input_ids: { randint: [0, 30522] }, which is int64, or { constant: 0, dtype: int64 })',
    );
    // Given the type, it exports.
    writeFileSync(join(root, 'models/dtype/triton.yaml'), YAML('{ tokens: [null, null] }', '    example_inputs: { tokens: { randint: [0, 100] } }\n'));
    const spec = loadSpec(join(root, 'models/dtype/triton.yaml'), { displayPath: 'models/dtype/triton.yaml' });
    await expect(runExport({ spec, workspaceRoot: root, python: venvPython() })).resolves.toMatchObject({ outputPath: join(root, 'dist/models/dtype/export/model.onnx') });
  });

  it('a package older than nx-triton needs: which, for what, and the pip command, before torch runs', async () => {
    // A distribution's metadata first on sys.path is the version the interpreter reports.
    const site = join(root, 'site');
    mkdirSync(join(site, 'onnxscript-0.0.9.dist-info'), { recursive: true });
    writeFileSync(join(site, 'onnxscript-0.0.9.dist-info/METADATA'), 'Metadata-Version: 2.1\nName: onnxscript\nVersion: 0.0.9\n');
    const message = await exportOf('old', YAML('{ x: [null, 4] }'), { 'net.py': 'import torch\n\ndef build():\n    return torch.nn.Linear(4, 2)\n' }, { PYTHONPATH: site });
    expect(message).toMatch(
      /^models\/old\/triton\.yaml:5:5: export\.torch\.model: onnxscript 0\.0\.9 in \S+ is older than the 0\.1 nx-triton needs; the dynamo exporter \(torch 2\.\d+\.\d+'s default\) needs it: pip install "onnxscript>=0\.1" \(or pip install -r node_modules\/nx-triton\/python\/requirements\.txt\), or set exporter: torchscript \(the deprecated TorchScript-based exporter\)$/,
    );
  });

  it('adds the Python traceback only when Nx runs verbose', async () => {
    const net = 'import torch\n\ndef build():\n    return torch.nn.Linear(4, 2)\n\ndef broken():\n    raise ValueError("no weights here")\n';
    const yaml = YAML('{ x: [null, 4] }').replace('net:build', 'net:broken');
    const quiet = await exportOf('tb', yaml, { 'net.py': net });
    expect(quiet).toBe('models/tb/triton.yaml:5:5: export.torch.model: "net:broken" failed at net.py:7: ValueError: no weights here');
    const verbose = await exportOf('tb', yaml, { 'net.py': net }, { NX_VERBOSE_LOGGING: 'true' });
    expect(verbose.split('\n')[0]).toBe(quiet);
    expect(verbose).toContain('Traceback (most recent call last)');
  });
});
