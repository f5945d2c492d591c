import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from './inspect';
import { runVerb } from '../test/cli';

const SCRIPT = join(__dirname, '..', 'test', 'onnx-testdata.py');
const LAYER_NORM = '/usr/share/libonnx-testdata/data/node/test_layer_normalization_4d_axis0/model.onnx';
const tmp = mkdtempSync(join(tmpdir(), 'nx-triton-inspect-'));
const modelDir = join(tmp, 'model.onnx');

beforeAll(() => {
  mkdirSync(modelDir);
  execFileSync('/usr/bin/python3', [SCRIPT, 'make-external', modelDir, 'one-file']);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const inspect = (...argv: string[]) => runVerb(run, argv);

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
      // Initializers that are also graph inputs (none here): Triton's ONNX backend takes them as optional inputs.
      overridableInputs: [],
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

  it('lists the external data of Constant nodes in If and Loop bodies', async () => {
    const nested = join(tmp, 'nested');
    mkdirSync(nested);
    execFileSync('/usr/bin/python3', [SCRIPT, 'make-nested', nested, '1']);
    const { code, out } = await inspect(join(nested, 'model.onnx'));
    expect(code).toBe(0);
    expect(out).toContain('\nexternal data: else.bin, loop.bin, sparse.bin, then.bin\n');
  });

  it('prints a model with 200k inputs', async () => {
    // ModelProto { ir_version: 8, graph { input: x0 ... x199999 } }: names and no types
    const input = (i: number) => {
      const name = Buffer.from(`x${i}`);
      return Buffer.from([0x5a, name.length + 2, 0x0a, name.length, ...name]);
    };
    const inputs = Buffer.concat(Array.from({ length: 200_000 }, (_, i) => input(i)));
    const length: number[] = [];
    for (let v = inputs.length; ; v = Math.floor(v / 128)) {
      if (v < 128) {
        length.push(v);
        break;
      }
      length.push((v % 128) | 0x80);
    }
    const file = join(tmp, 'wide.onnx');
    writeFileSync(file, Buffer.concat([Buffer.from([0x08, 0x08, 0x3a, ...length]), inputs]));
    const { code, out, err } = await inspect(file);
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toContain('inputs:\n  x0       -  (not a tensor)\n  x1       -  (not a tensor)\n');
    expect(out).toContain('\n  x199999  -  (not a tensor)\noutputs:\n  (none)\n');
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
