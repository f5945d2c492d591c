import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePbtxt } from '../proto/text-format';
import { TORCH1_PYTHON } from '../test/pythons';
import { createWorkspace, repoRoot, type Workspace } from './workspace';

// torch 1.13 with onnxruntime: the fidelity gate runs the exported ONNX.
const torchPython = { NX_TRITON_PYTHON: TORCH1_PYTHON };

const NET = `import torch


class Net(torch.nn.Module):
    def __init__(self, hidden: int):
        super().__init__()
        self.body = torch.nn.Sequential(torch.nn.Linear(256, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 10))

    # Inputs are bound by name: input_shapes says "input".
    def forward(self, input):
        return torch.softmax(self.body(input), dim=-1)


def build(hidden: int = 64) -> torch.nn.Module:
    return Net(hidden)
`;

describe('the ONNX path in a fresh workspace with the packed tarball (nx 24.0.6)', () => {
  let ws: Workspace;
  const yamlPath = () => join(ws.root, 'models/my_nn/triton.yaml');

  beforeAll(() => {
    ws = createWorkspace();
  });
  afterAll(() => ws?.remove());

  it("the README's install path: npm i -D nx nx-triton, then init creates nx.json and adds @nx/devkit of nx's major", () => {
    const pkg = JSON.parse(readFileSync(join(ws.root, 'package.json'), 'utf8'));
    expect(pkg.devDependencies['@nx/devkit']).toBe('>=24.0.0 <25.0.0');
    expect(JSON.parse(readFileSync(join(ws.root, 'node_modules/@nx/devkit/package.json'), 'utf8')).version).toMatch(/^24\./);
    const nxJson = JSON.parse(readFileSync(join(ws.root, 'nx.json'), 'utf8'));
    expect(nxJson.plugins).toEqual([{ plugin: 'nx-triton', options: {} }]);
    // The tree npm made is consistent: no invalid or missing peer.
    execFileSync('npm', ['ls', '--all'], { cwd: ws.root, stdio: 'pipe' });
    console.log(`install path: npm i -D nx nx-triton ${ws.timings.install.toFixed(1)} s, nx g nx-triton:init ${ws.timings.init.toFixed(1)} s`);
  });

  it('nx g nx-triton:init registers the plugin once', () => {
    for (let i = 0; i < 2; i++) {
      const r = ws.nx(['g', 'nx-triton:init']);
      expect(r.code, r.out).toBe(0);
    }
    const nxJson = JSON.parse(readFileSync(join(ws.root, 'nx.json'), 'utf8'));
    const entries = (nxJson.plugins ?? []).filter((p: unknown) => (typeof p === 'string' ? p : (p as { plugin: string }).plugin) === 'nx-triton');
    expect(entries).toHaveLength(1);
  });

  it('nx g nx-triton:model scaffolds triton.yaml, and refuses a taken name', () => {
    const r = ws.nx(['g', 'nx-triton:model', 'my_nn', '--platform=onnxruntime_onnx', '--maxBatchSize=64', '--instanceGroup=gpu:4']);
    expect(r.code, r.out).toBe(0);
    const text = readFileSync(yamlPath(), 'utf8');
    // The editor schema line points at the installed package's schema, relative to the file.
    const schemaPath = /^# yaml-language-server: \$schema=(\S+)\n/.exec(text)?.[1];
    expect(schemaPath).toBe('../../node_modules/nx-triton/schemas/triton.schema.json');
    expect(JSON.parse(readFileSync(join(ws.root, 'models/my_nn', schemaPath as string), 'utf8')).title).toBe('triton.yaml (nx-triton)');
    expect(text).toMatch(/max_batch_size: 64/);
    expect(text).toMatch(/kind: KIND_GPU|kind: gpu/);
    const again = ws.nx(['g', 'nx-triton:model', 'my_nn']);
    expect(again.code).not.toBe(0);
    expect(again.out).toContain('Model my_nn already exists');
  });

  it('builds the repository entry from a torch.nn.Module, and Triton-parsable config.pbtxt', () => {
    writeFileSync(join(ws.root, 'models/my_nn/net.py'), NET);
    const generated = readFileSync(yamlPath(), 'utf8').replace(/^export:[\s\S]*?(?=^\S|$(?![\s\S]))/m, '');
    writeFileSync(
      yamlPath(),
      `${generated}\nexport:\n  torch:\n    model: net:build\n    kwargs: { hidden: 32 }\n    input_shapes: { input: [null, 256] }\n    output_names: [probs]\n`,
    );
    const r = ws.nx(['run', 'my_nn:build'], torchPython);
    expect(r.code, r.out).toBe(0);
    const entry = join(ws.root, 'dist/model-repository/my_nn');
    expect(existsSync(join(entry, '1/model.onnx'))).toBe(true);
    const pbtxt = readFileSync(join(entry, 'config.pbtxt'), 'utf8');
    // The same C++ text-format parser Triton uses accepts it.
    execFileSync('protoc', ['--encode=inference.ModelConfig', `--proto_path=${join(repoRoot, 'proto')}`, 'model_config.proto'], {
      input: pbtxt,
    });
    const config = parsePbtxt(pbtxt, 'config.pbtxt');
    expect(config).toMatchObject({
      name: 'my_nn',
      platform: 'onnxruntime_onnx',
      max_batch_size: 64,
      input: [{ name: 'input', data_type: 'TYPE_FP32', dims: [256] }],
      output: [{ name: 'probs', data_type: 'TYPE_FP32', dims: [10] }],
      instance_group: [{ kind: 'KIND_GPU', count: 4 }],
    });
  });

  it('the exported model runs in onnxruntime at the config\'s shapes', async () => {
    const session = await ort.InferenceSession.create(join(ws.root, 'dist/model-repository/my_nn/1/model.onnx'));
    for (const batch of [1, 64]) {
      const x = new ort.Tensor('float32', new Float32Array(batch * 256).fill(0.5), [batch, 256]);
      const out = await session.run({ input: x });
      expect(out.probs.dims).toEqual([batch, 10]);
      const firstRow = Array.from(out.probs.data as Float32Array).slice(0, 10);
      expect(firstRow.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
    }
  });

  it('the second run is all cache hits', () => {
    const r = ws.nx(['run', 'my_nn:build'], torchPython);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/Nx read the output from the cache instead of running the command for 2 out of 2 tasks/);
  });

  it('nx run-many -t build builds every model', () => {
    const g = ws.nx(['g', 'nx-triton:model', 'second', '--maxBatchSize=8', '--source=torch']);
    expect(g.code, g.out).toBe(0);
    const r = ws.nx(['run-many', '-t', 'build'], torchPython);
    expect(r.code, r.out).toBe(0);
    expect(existsSync(join(ws.root, 'dist/model-repository/second/config.pbtxt'))).toBe(true);
    expect(existsSync(join(ws.root, 'dist/model-repository/second/1/model.onnx'))).toBe(true);
  });

  it('a typo in triton.yaml fails with the file, line and key, and writes nothing', () => {
    const before = readFileSync(join(ws.root, 'dist/model-repository/my_nn/config.pbtxt'), 'utf8');
    const good = readFileSync(yamlPath(), 'utf8');
    writeFileSync(yamlPath(), good.replace('max_batch_size:', 'max_batch_sise:'));
    const r = ws.nx(['run', 'my_nn:build'], torchPython);
    writeFileSync(yamlPath(), good);
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/models\/my_nn\/triton\.yaml:\d+:\d+: max_batch_sise: unknown key/);
    expect(r.out).toContain('max_batch_size');
    expect(r.out).not.toMatch(/^\s+at .*\.js:\d+/m);
    expect(readFileSync(join(ws.root, 'dist/model-repository/my_nn/config.pbtxt'), 'utf8')).toBe(before);
  });
  it('--dry-run checks triton.yaml and names what build would write, writing nothing', () => {
    const before = readFileSync(join(ws.root, 'dist/model-repository/my_nn/config.pbtxt'), 'utf8');
    const r = ws.nx(['run', 'my_nn:build', '--dry-run', '--excludeTaskDependencies', '--skip-nx-cache'], torchPython);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('nx-triton: --dry-run: models/my_nn/triton.yaml is valid; build of my_nn would write dist/model-repository/my_nn (nothing was run or written)');
    expect(readFileSync(join(ws.root, 'dist/model-repository/my_nn/config.pbtxt'), 'utf8')).toBe(before);
  });

  it('two triton.yaml files with one model name: every nx command names both files and lines', () => {
    mkdirSync(join(ws.root, 'models/dup'));
    writeFileSync(join(ws.root, 'models/dup/triton.yaml'), 'name: my_nn\nplatform: onnxruntime_onnx\n');
    try {
      const r = ws.nx(['show', 'projects']);
      expect(r.code).not.toBe(0);
      expect(r.out).toContain(
        'models/dup/triton.yaml:1:1 (name:): model name "my_nn" is also the name of models/my_nn/triton.yaml:1:1 (no name:, so its directory\'s name)',
      );
      expect(r.out).not.toContain('project.json');
    } finally {
      rmSync(join(ws.root, 'models/dup'), { recursive: true, force: true });
    }
    expect(ws.nx(['show', 'projects']).code).toBe(0);
  });
});

describe('npm pack of a clean checkout', () => {
  it("builds before packing, and ships dist/ and every file the package's install-time scripts run", () => {
    // The files git would give a clean clone (tracked or not ignored), without dist/; node_modules as after `npm ci`.
    const copy = mkdtempSync(join(tmpdir(), 'nx-triton-clean-'));
    try {
      const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: repoRoot, encoding: 'utf8' });
      for (const file of files.split('\0').filter((f) => f && existsSync(join(repoRoot, f)))) {
        mkdirSync(dirname(join(copy, file)), { recursive: true });
        copyFileSync(join(repoRoot, file), join(copy, file));
      }
      symlinkSync(join(repoRoot, 'node_modules'), join(copy, 'node_modules'), 'dir');
      expect(existsSync(join(copy, 'dist'))).toBe(false);
      const [packed] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json'], { cwd: copy, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
      const shipped = new Set<string>(packed.files.map((f: { path: string }) => f.path));
      const pkg = JSON.parse(readFileSync(join(copy, 'package.json'), 'utf8'));
      for (const file of ['dist/index.js', 'dist/index.d.ts', pkg.main, pkg.bin['nx-triton'], 'dist/generators/init/generator.js', 'dist/executors/build/executor.js', 'schemas/triton.schema.json']) {
        expect(shipped, file).toContain(file.replace(/^\.\//, ''));
      }
      // Scripts npm may run where the tarball is installed must find their files in it.
      for (const script of ['preinstall', 'install', 'postinstall', 'prepare']) {
        const file = /^node\s+(\S+)/.exec(pkg.scripts?.[script] ?? '')?.[1];
        if (file) expect(shipped, `${script}: ${pkg.scripts[script]}`).toContain(file);
      }
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });
});
