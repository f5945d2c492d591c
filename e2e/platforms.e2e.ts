import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePbtxt } from '../proto/text-format';
import { expectTritonServes, scaleCase } from '../test/triton-oracle';
import { createWorkspace, type Workspace } from './workspace';

// Each platform from the generator (or a hand-written triton.yaml) to a repository entry, in one fresh
// workspace with the packed tarball; then the whole repository through `nx-triton validate`.
describe('every platform in a fresh workspace', () => {
  let ws: Workspace;
  const env = { NX_TRITON_PYTHON: '/usr/bin/python3' };
  const entry = (name: string, file = 'config.pbtxt') => join(ws.root, 'dist/model-repository', name, file);
  const config = (name: string) => parsePbtxt(readFileSync(entry(name), 'utf8'), `${name}/config.pbtxt`);
  const project = (name: string, yaml: string, files: Record<string, string> = {}) => {
    mkdirSync(join(ws.root, 'models', name), { recursive: true });
    writeFileSync(join(ws.root, 'models', name, 'triton.yaml'), yaml);
    for (const [f, text] of Object.entries(files)) writeFileSync(join(ws.root, 'models', name, f), text);
  };

  beforeAll(() => {
    ws = createWorkspace();
    for (const args of [
      ['g', 'nx-triton:init'],
      ['g', 'nx-triton:model', 'scripted', '--platform=pytorch_libtorch', '--maxBatchSize=4'],
      ['g', 'nx-triton:model', 'pyback', '--platform=python', '--maxBatchSize=8'],
    ]) {
      const r = ws.nx(args);
      if (r.code !== 0) throw new Error(r.out);
    }
    project('custom', 'backend: identity\nmax_batch_size: 0\ninput: [{ name: IN, data_type: int32, dims: [3] }]\noutput: [{ name: OUT, data_type: int32, dims: [3] }]\nexport: { file: weights.bin }\n', {
      'weights.bin': 'opaque bytes a custom backend reads\n',
    });
    project('vino', 'backend: openvino\nmax_batch_size: 0\ninput: [{ name: x, data_type: fp32, dims: [2] }]\noutput: [{ name: y, data_type: fp32, dims: [2] }]\nexport: { file: net.xml }\n', {
      'net.xml': '<?xml version="1.0"?><net name="placeholder IR, not a real OpenVINO model"/>\n',
      'net.bin': 'placeholder weights\n',
    });
  });
  afterAll(() => ws?.remove());

  it('builds TorchScript, python backend, custom and OpenVINO models with Triton file names', () => {
    const r = ws.nx(['run-many', '-t', 'build'], env);
    expect(r.code, r.out).toBe(0);

    // TorchScript: traced from the generated example module, I/O taken from the traced module.
    expect(config('scripted')).toMatchObject({ platform: 'pytorch_libtorch', max_batch_size: 4 });
    const scripted = config('scripted');
    expect(scripted.input?.[0]?.dims?.length).toBeGreaterThan(0);
    const shape = [2, ...(scripted.input![0].dims as number[])];
    const out = execFileSync('/usr/bin/python3', ['-c', `import torch,sys; m=torch.jit.load(sys.argv[1]); print(tuple(m(torch.zeros(${shape.join(',')})).shape))`, entry('scripted', '1/model.pt')], { encoding: 'utf8' });
    expect(out.trim()).toBe(`(2, ${(scripted.output![0].dims as number[]).join(', ')})`);

    // Python backend: model.py in the version directory, I/O as scaffolded.
    expect(readFileSync(entry('pyback', '1/model.py'), 'utf8')).toContain('class TritonPythonModel');
    expect(config('pyback')).toMatchObject({ backend: 'python', max_batch_size: 8 });

    // A custom backend's file is model.<backend>; OpenVINO's IR is model.xml + model.bin.
    expect(readFileSync(entry('custom', '1/model.identity'), 'utf8')).toContain('opaque bytes');
    expect(existsSync(entry('vino', '1/model.xml'))).toBe(true);
    expect(existsSync(entry('vino', '1/model.bin'))).toBe(true);
  });

  it('nx-triton validate accepts the repository', () => {
    const v = spawnSync(join(ws.root, 'node_modules/.bin/nx-triton'), ['validate', 'dist/model-repository'], { cwd: ws.root, encoding: 'utf8' });
    expect(v.status, `${v.stdout}${v.stderr}`).toBe(0);
    expect(v.stdout).toContain('ok: 4 models');
    return expectTritonServes(join(ws.root, 'dist/model-repository'), { infer: { pyback: [scaleCase('INPUT0', 'OUTPUT0', [2, 4], 1)] } });
  });

  it('rebuilds when a gitignored model file changes (Nx hashes it through includeIgnored)', () => {
    writeFileSync(join(ws.root, '.gitignore'), `${readFileSync(join(ws.root, '.gitignore'), 'utf8')}models/custom/weights.bin\n`);
    let r = ws.nx(['run', 'custom:build'], env);
    expect(r.code, r.out).toBe(0);
    writeFileSync(join(ws.root, 'models/custom/weights.bin'), 'retrained weights\n');
    r = ws.nx(['run', 'custom:build'], env);
    expect(r.code, r.out).toBe(0);
    expect(readFileSync(entry('custom', '1/model.identity'), 'utf8')).toBe('retrained weights\n');
  });
});
