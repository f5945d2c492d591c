import { describe, expect, it } from 'vitest';
import { readSpecSummary } from './summary';

describe('readSpecSummary', () => {
  it('reads what the project graph needs', () => {
    const text = [
      'name: scorer',
      'platform: ensemble',
      'from: base',
      'export: { command: [python3, x.py, "{output}"] }',
      'ensemble_scheduling:',
      '  step:',
      '    - { model_name: tok }',
      '    - { model_name: bert }',
      '    - { model_name: tok }',
      '    - { model_version: 1 }',
      '    - not a step',
    ].join('\n');
    expect(readSpecSummary(text, '/ws/models/dir')).toEqual({
      name: 'scorer',
      platform: 'ensemble',
      hasExport: true,
      exportKind: 'command',
      from: 'base',
      ensembleModels: ['tok', 'bert'],
      exportDigest: expect.stringMatching(/^[0-9a-f]{64}$/),
      parsed: true,
    });
  });

  it("digests the keys the export reads: instance_group and other config-only keys leave the export's cache key as it is", () => {
    const base = ['platform: onnxruntime_onnx', 'max_batch_size: 8', 'export: { torch: { model: net:build } }'];
    const digest = (...extra: string[]) => readSpecSummary([...base, ...extra].join('\n'), '/ws/models/m').exportDigest;
    const plain = digest();
    expect(digest('instance_group: [{ kind: gpu, count: 4 }]', 'parameters: { a: { string_value: b } }')).toBe(plain);
    // key order and YAML style do not matter
    expect(readSpecSummary(['export:', '  torch:', '    model: net:build', 'max_batch_size: 8', 'platform: onnxruntime_onnx'].join('\n'), '/ws/models/m').exportDigest).toBe(plain);
    // triton_release: an unset export.torch.opset is chosen to fit it (lib/releases/onnxruntime.ts).
    for (const changed of ['verify: false', 'input: [{ name: x, data_type: int64 }]', 'dynamic_batching: { preferred_batch_size: [4] }', 'triton_release: "24.01"']) {
      expect(digest(changed)).not.toBe(plain);
    }
    expect(readSpecSummary(base.join('\n').replace('8', '16'), '/ws/models/m').exportDigest).not.toBe(plain);
    expect(readSpecSummary('platform: onnxruntime_onnx', '/ws/models/m').exportDigest).toBeUndefined();
  });

  it('falls back to the directory name for a missing, illegal or non-string name', () => {
    for (const text of ['platform: onnxruntime_onnx', 'name: a/b', 'name: " padded "', 'name: 7', 'name: ""']) {
      expect(readSpecSummary(text, '/ws/models/my_nn').name).toBe('my_nn');
    }
  });

  it('never throws: bad YAML, non-map documents and odd values give a name-only summary', () => {
    const nameOnly = { name: 'm', hasExport: false, ensembleModels: [], parsed: false };
    for (const text of ['', 'key: [unclosed', '- a\n- b', '42', 'a: 1\na: 2\n: :']) {
      const summary = readSpecSummary(text, '/ws/m');
      expect(summary.name).toBe('m');
      if (!summary.parsed) expect(summary).toEqual(nameOnly);
    }
    expect(readSpecSummary('platform: [x]\nbackend: {}\nfrom: 3\nensemble_scheduling: { step: 5 }\nexport: null', '/ws/m')).toEqual({
      ...nameOnly,
      parsed: true,
      platform: undefined,
      backend: undefined,
      from: undefined,
      exportKind: undefined,
    });
  });

  it('keeps an export: it cannot read, so the export target exists and reports the problem', () => {
    const summary = readSpecSummary('export: model.onnx', '/ws/m');
    expect(summary.hasExport).toBe(true);
    expect(summary.exportKind).toBeUndefined();
  });
});
