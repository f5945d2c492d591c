import { describe, expect, it } from 'vitest';
import { commandArgv } from './command';

describe('commandArgv', () => {
  it('puts the output path and the interpreter into the arguments, each one literal argument', () => {
    expect(commandArgv(['{python}', 'export.py', '--out={output}', 'a b;c'], '/ws/dist/m/export/model.onnx', '/usr/bin/python3')).toEqual([
      '/usr/bin/python3',
      'export.py',
      '--out=/ws/dist/m/export/model.onnx',
      'a b;c',
    ]);
  });

  it('substitutes in one pass: a "{python}" or "{output}" inside a substituted value stays as it is (issue 22, N16)', () => {
    // A checkout at /work/{python}/ws: the output path must reach the command unchanged.
    expect(commandArgv(['tool', '{output}', '{python}'], '/work/{python}/ws/model.onnx', '/opt/{output}/python')).toEqual([
      'tool',
      '/work/{python}/ws/model.onnx',
      '/opt/{output}/python',
    ]);
  });
});
