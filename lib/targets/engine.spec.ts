import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { normalizeOptions } from '../../plugin/options';
import { buildTargets } from '../../plugin/targets';
import { A100, standInEnv } from '../../test/fixtures/stand-ins';
import { readSpecSummary } from '../model-spec/summary';
import { buildModel } from './build';
import { runEngineTarget } from './engine';
import { runExportTarget } from './export';

// `backend: tensorrt` without a platform is a TensorRT model as much as `platform: tensorrt_plan`
// (Triton's core fills the platform from the backend). Before "is TensorRT" was one fact
// (lib/platforms.ts isTensorRt), such a model with export: got no engine target, and its build
// failed with "the exported model is missing ... model.plan; run the export target first".

const ONNX = join(__dirname, '../engine/__fixtures__/relu_batch.onnx');
const base = mkdtempSync(join(tmpdir(), 'nx-triton-backend-trt-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

const SPEC = 'backend: tensorrt\nmax_batch_size: 8\nexport:\n  file: model.onnx\n';
// verify: false: no smoke run in onnxruntime (the unit lane runs no Python).
const NO_SMOKE = 'verify: false\n';

describe('a backend: tensorrt model with export:', () => {
  it('has an engine target, like platform: tensorrt_plan', () => {
    const targets = (yaml: string) => Object.keys(buildTargets('models/m', readSpecSummary(yaml, '/ws/models/m'), normalizeOptions({}, '/ws')));
    expect(targets(SPEC)).toEqual(['export', 'engine', 'build', 'serve', 'tune']);
    expect(targets(SPEC.replace('backend: tensorrt', 'platform: tensorrt_plan'))).toEqual(['export', 'engine', 'build', 'serve', 'tune']);
  });

  it('exports its ONNX, builds its engine and writes an entry with the plan', async () => {
    const ws = join(base, 'ws');
    mkdirSync(join(ws, 'models/my_trt'), { recursive: true });
    writeFileSync(join(ws, 'models/my_trt/triton.yaml'), SPEC + NO_SMOKE);
    copyFileSync(ONNX, join(ws, 'models/my_trt/model.onnx'));
    const lines: string[] = [];
    const project = { workspaceRoot: ws, specFile: join(ws, 'models/my_trt/triton.yaml'), resolveSpecFile: () => undefined, log: (l: string) => lines.push(l) };
    await runExportTarget(project);
    const env = standInEnv({ gpu: A100, log: join(ws, 'trtexec.log'), store: join(ws, 'store') });
    const plans = await runEngineTarget({ ...project, env });
    expect(plans.map((p) => [p.file, p.hit])).toEqual([['model.plan', false]]);
    await buildModel({ ...project, repository: 'dist/model-repository' });
    const entry = join(ws, 'dist/model-repository/my_trt');
    expect(readdirSync(join(entry, '1'))).toEqual(['engine.json', 'model.plan']);
    expect(readFileSync(join(entry, '1/model.plan')).toString('latin1', 0, 4)).toBe('ftrt');
    expect(readFileSync(join(entry, 'config.pbtxt'), 'utf8')).toMatch(/^backend: "tensorrt"$/m);
  });
});
