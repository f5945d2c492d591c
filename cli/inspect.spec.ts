import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from './inspect';

const SCRIPT = join(__dirname, '..', 'test', 'onnx-testdata.py');
const LAYER_NORM = '/usr/share/libonnx-testdata/data/node/test_layer_normalization_4d_axis0/model.onnx';
const tmp = mkdtempSync(join(tmpdir(), 'nx-triton-inspect-'));
const modelDir = join(tmp, 'model.onnx');

beforeAll(() => {
  mkdirSync(modelDir);
  execFileSync('/usr/bin/python3', [SCRIPT, 'make-external', modelDir, 'one-file']);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function inspect(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await run(argv, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

describe('nx-triton inspect', () => {
  it('prints inputs, outputs, opsets and external data as text', async () => {
    const { code, out, err } = await inspect(modelDir);
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toBe(
      [
        `file:          ${modelDir}`,
        'ir_version:    8',
        'opsets:        ai.onnx 13',
        'producer:      onnx-testdata',
        'graph:         ext',
        'inputs:',
        '  x  FLOAT  [batch, 64]',
        'outputs:',
        '  y  FLOAT  [batch, 64]',
        'external data: weights.bin',
        '',
      ].join('\n'),
    );
  });

  it('prints JSON with --json', async () => {
    const { code, out } = await inspect('--json', modelDir);
    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual({
      irVersion: 8,
      opsets: [{ domain: '', version: 13 }],
      producerName: 'onnx-testdata',
      producerVersion: '',
      graphName: 'ext',
      inputs: [{ name: 'x', elemType: 1, elemTypeName: 'FLOAT', shape: ['batch', 64] }],
      outputs: [{ name: 'y', elemType: 1, elemTypeName: 'FLOAT', shape: ['batch', 64] }],
      externalData: ['weights.bin'],
    });
  });

  it('aligns the columns of a model with several inputs and outputs', async () => {
    const { code, out } = await inspect(LAYER_NORM);
    expect(code).toBe(0);
    expect(out).toContain('inputs:\n  X  FLOAT  [2, 3, 4, 5]\n  W  FLOAT  [2, 3, 4, 5]\n  B  FLOAT  [2, 3, 4, 5]\noutputs:\n');
    expect(out).toContain('\n  Y          FLOAT  [2, 3, 4, 5]\n  Mean       FLOAT  [1, 1, 1, 1]\n  InvStdDev  FLOAT  [1, 1, 1, 1]\n');
    expect(out).toContain('external data: (none)\n');
  });

  it('fails with one line for a missing file or a file that is not ONNX', async () => {
    const missing = join(tmp, 'missing.onnx');
    expect(await inspect(missing)).toEqual({ code: 1, out: '', err: `nx-triton: ${missing}: no such file\n` });
    const text = join(tmp, 'notes.onnx');
    writeFileSync(text, 'this is not a model\n');
    const res = await inspect(text);
    expect(res.code).toBe(1);
    expect(res.out).toBe('');
    expect(res.err).toMatch(new RegExp(`^nx-triton: ${text}: not an ONNX model: [^\\n]+\\n$`));
  });

  it('exits 2 on usage errors', async () => {
    for (const argv of [[], ['--yaml', modelDir], [modelDir, modelDir]]) {
      const res = await inspect(...argv);
      expect(res.code).toBe(2);
      expect(res.out).toBe('');
      expect(res.err).toContain('usage: nx-triton inspect <model.onnx> [--json]');
    }
    expect(await inspect('--help')).toEqual({ code: 0, out: 'usage: nx-triton inspect <model.onnx> [--json]\n', err: '' });
  });
});
