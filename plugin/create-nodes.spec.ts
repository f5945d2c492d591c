import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { CreateNodesContextV2, CreateNodesResultV2 } from '@nx/devkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as entry from '../index';
import { createNodes, createNodesV2 } from './create-nodes';
import type { TritonPluginOptions } from './options';
import { pythonFingerprintCommand } from './targets';

let workspaceRoot: string;

beforeEach(() => {
  workspaceRoot = mkdtempSync(join(tmpdir(), 'nx-triton-nodes-'));
});
afterEach(() => rmSync(workspaceRoot, { recursive: true, force: true }));

function write(files: Record<string, string>): string[] {
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(dirname(join(workspaceRoot, file)), { recursive: true });
    writeFileSync(join(workspaceRoot, file), text);
  }
  return Object.keys(files);
}

async function run(files: Record<string, string>, options?: TritonPluginOptions): Promise<CreateNodesResultV2> {
  const context: CreateNodesContextV2 = { nxJsonConfiguration: {}, workspaceRoot };
  return createNodes[1](write(files).filter((f) => f.endsWith('triton.yaml')), options, context);
}

async function project(files: Record<string, string>, root: string, options?: TritonPluginOptions) {
  const results = await run(files, options);
  const hit = results.find(([file]) => file === `${root}/triton.yaml`);
  return hit?.[1].projects?.[root];
}

// The models of these tests name `net:build` with no net.py in the project: `net` is taken for an installed package.
const PYTHON_RUNTIME = pythonFingerprintCommand('python3', ['net']);

function exportTarget(name: string, technologies: string[], python = 'python3', runtime = PYTHON_RUNTIME) {
  return {
    executor: 'nx-triton:export',
    options: { python, exportDigest: expect.stringMatching(/^[0-9a-f]{64}$/) },
    cache: true,
    inputs: ['{projectRoot}/**/*', '!{projectRoot}/triton.yaml', { env: 'NX_TRITON_PYTHON' }, { runtime }],
    outputs: [`{workspaceRoot}/dist/models/${name}/export`],
    metadata: {
      description: `Export ${name}'s model file from the export: section of triton.yaml`,
      technologies,
      help: { command: 'npx nx-triton --help', example: { options: { python: '/usr/bin/python3' } } },
    },
  };
}

/**
 * An `export: { file: ... }` copies a file: it depends on no interpreter, so it hashes none; the file
 * is named with includeIgnored (weights are often gitignored, and Nx 24 hashes them only so).
 */
function fileExportTarget(name: string, technologies: string[], file: string) {
  return {
    executor: 'nx-triton:export',
    options: { exportDigest: expect.stringMatching(/^[0-9a-f]{64}$/) },
    cache: true,
    inputs: [
      '{projectRoot}/**/*',
      '!{projectRoot}/triton.yaml',
      { fileset: `{projectRoot}/${file}`, includeIgnored: true },
      { fileset: `{projectRoot}/${file}/**/*`, includeIgnored: true },
    ],
    outputs: [`{workspaceRoot}/dist/models/${name}/export`],
    metadata: {
      description: `Export ${name}'s model file from the export: section of triton.yaml`,
      technologies,
      help: { command: 'npx nx-triton --help', example: { options: { python: '/usr/bin/python3' } } },
    },
  };
}

function buildTarget(name: string, technologies: string[], own: string[], repository = 'dist/model-repository', names = { build: 'build', export: 'export' }) {
  return {
    executor: 'nx-triton:build',
    options: { repository },
    cache: true,
    dependsOn: [...own, { target: names.export, dependencies: true }, { target: names.build, dependencies: true }],
    inputs: ['{projectRoot}/**/*', { dependentTasksOutputFiles: '**/*', transitive: true }],
    outputs: [`{workspaceRoot}/${repository}/${name}`],
    metadata: {
      description: `Validate ${name} and write its entry in ${repository}/`,
      technologies,
      help: { command: 'npx nx-triton --help', example: { options: { repository } } },
    },
  };
}

function serveTarget(name: string, technologies: string[], options: Record<string, unknown> = {}, build = 'build') {
  return {
    executor: 'nx-triton:serve',
    options: { repository: 'dist/model-repository', ...options },
    continuous: true,
    cache: false,
    dependsOn: [build, { target: build, dependencies: true }],
    readyWhen: { signal: true },
    metadata: {
      description: `Serve ${name} (and the models it needs) with tritonserver on ${options.repository ?? 'dist/model-repository'}/ until Ctrl-C`,
      technologies,
      help: { command: 'npx nx-triton serve --help', example: { options: { httpPort: 8000 } } },
    },
  };
}

function tuneTarget(name: string, technologies: string[], repository = 'dist/model-repository', build = 'build') {
  return {
    executor: 'nx-triton:tune',
    options: { repository },
    cache: false,
    dependsOn: [build],
    parallelism: false,
    outputs: [`{workspaceRoot}/dist/models/${name}/tune`],
    metadata: {
      description: `Measure serving configs of ${name} with perf_analyzer and write the best into triton.yaml`,
      technologies,
      help: { command: 'npx nx-triton tune --help', example: { options: { concurrency: [1, 8, 32], latencyBudgetMs: 50 } } },
    },
  };
}

function engineTarget(name: string, dependsOn: unknown[], options: Record<string, unknown> = {}) {
  return {
    executor: 'nx-triton:engine',
    options,
    cache: true,
    parallelism: false,
    dependsOn,
    inputs: [
      '{projectRoot}/triton.yaml',
      { dependentTasksOutputFiles: '**/*', transitive: true },
      { runtime: 'node node_modules/nx-triton/dist/cli/main.js fingerprint' },
    ],
    outputs: [`{workspaceRoot}/dist/models/${name}/engine`],
    metadata: {
      description: `Build ${name}'s TensorRT plan(s) from its ONNX model, through the engine store`,
      technologies: ['triton', 'onnx', 'tensorrt'],
      help: { command: 'npx nx-triton --help', example: { options: { engineCache: '/mnt/fast/trt-engines' } } },
    },
  };
}

describe('createNodes', () => {
  it('is the package entry, under both names', () => {
    expect(entry.name).toBe('nx-triton');
    expect(entry.createNodes).toBe(createNodes);
    expect(entry.createNodesV2).toBe(createNodes);
    expect(createNodesV2).toBe(createNodes);
    expect(typeof entry.createDependencies).toBe('function');
    expect(createNodes[0]).toBe('**/triton.yaml');
  });

  it('gives a plain model only a build target, named after its directory', async () => {
    const tech = ['triton', 'onnx'];
    expect(await project({ 'models/plain/triton.yaml': 'platform: onnxruntime_onnx\nmax_batch_size: 8\n' }, 'models/plain')).toEqual({
      name: 'plain',
      root: 'models/plain',
      projectType: 'library',
      metadata: { technologies: tech },
      targets: { build: buildTarget('plain', tech, []), serve: serveTarget('plain', tech), tune: tuneTarget('plain', tech) },
    });
  });

  it("keys a torch export on the versions of the packages its model module imports", async () => {
    const files = { 'models/enc/triton.yaml': 'platform: onnxruntime_onnx\nexport:\n  torch:\n    model: net:build\n', 'models/enc/net.py': 'import torch\nfrom transformers import AutoModel\nfrom blocks import B\n', 'models/enc/blocks.py': 'import timm\n' };
    const inputs = (await project(files, 'models/enc'))?.targets?.export.inputs ?? [];
    expect(inputs).toContainEqual({ runtime: pythonFingerprintCommand('python3', ['timm', 'torch', 'transformers']) });
  });

  it('adds an export target when export: is set, and takes name: over the directory', async () => {
    const yaml = 'name: my_nn\nplatform: onnxruntime_onnx\nexport:\n  torch:\n    model: net:build\n';
    const tech = ['triton', 'onnx', 'pytorch'];
    expect(await project({ 'models/nn/triton.yaml': yaml }, 'models/nn')).toEqual({
      name: 'my_nn',
      root: 'models/nn',
      projectType: 'library',
      metadata: { technologies: tech },
      targets: { export: exportTarget('my_nn', tech), build: buildTarget('my_nn', tech, ['export']), serve: serveTarget('my_nn', tech), tune: tuneTarget('my_nn', tech) },
    });
  });

  it('gives a TensorRT model built from another model an engine target on the upstream export', async () => {
    const tech = ['triton', 'onnx', 'tensorrt'];
    const trt = await project({ 'models/nn_trt/triton.yaml': 'platform: tensorrt_plan\nfrom: my_nn\n' }, 'models/nn_trt');
    expect(trt).toEqual({
      name: 'nn_trt',
      root: 'models/nn_trt',
      projectType: 'library',
      metadata: { technologies: tech },
      targets: {
        engine: engineTarget('nn_trt', [{ target: 'export', dependencies: true }]),
        build: buildTarget('nn_trt', tech, ['engine']),
        serve: serveTarget('nn_trt', tech), tune: tuneTarget('nn_trt', tech),
      },
    });
  });

  it('chains a TensorRT model with its own export: export -> engine -> build', async () => {
    const tech = ['triton', 'onnx', 'tensorrt'];
    const yaml = 'platform: tensorrt_plan\nexport:\n  file: model.onnx\n';
    const trt = await project({ 'trt/triton.yaml': yaml }, 'trt', { engineCache: '/cache/engines' });
    expect(trt?.targets).toEqual({
      export: fileExportTarget('trt', tech, 'model.onnx'),
      engine: engineTarget('trt', ['export'], {}),
      build: buildTarget('trt', tech, ['export', 'engine']),
      serve: serveTarget('trt', tech), tune: tuneTarget('trt', tech),
    });
  });

  // Issue 12.7: a TensorRT model imported with its plan (export: { file: model.plan }) has no engine target.
  it('makes no engine target for a TensorRT model whose export is a plan file', async () => {
    const trt = await project({ 'trt/triton.yaml': 'platform: tensorrt_plan\nexport:\n  file: model.plan\n' }, 'trt');
    expect(Object.keys(trt?.targets ?? {})).toEqual(['export', 'build', 'serve', 'tune']);
    expect(trt?.targets?.build?.dependsOn).not.toContain('engine');
  });

  // Issue 12.13: the same engine in two store locations has one cache key; a Triton release changes it.
  it("keeps the engine store's location out of the engine target's cache key", async () => {
    const yaml = 'platform: tensorrt_plan\nexport:\n  file: model.onnx\n';
    const here = await project({ 'trt/triton.yaml': yaml }, 'trt', { engineCache: '/cache/a' });
    const there = await project({ 'trt/triton.yaml': yaml }, 'trt', { engineCache: '/mnt/b' });
    expect(there?.targets?.engine).toEqual(here?.targets?.engine);
    expect(JSON.stringify(here?.targets?.engine)).not.toContain('ENGINE_CACHE');
    const pinned = await project({ 'trt/triton.yaml': yaml }, 'trt', { tritonRelease: '24.08' });
    expect(pinned?.targets?.engine?.options).toEqual({ tritonRelease: '24.08' });
  });

  it('makes an ensemble a build-only project whose build waits for its members', async () => {
    const yaml = [
      'platform: ensemble',
      'ensemble_scheduling:',
      '  step:',
      '    - { model_name: pre, model_version: -1 }',
      '    - { model_name: my_nn, model_version: -1 }',
    ].join('\n');
    const tech = ['triton'];
    expect(await project({ 'models/pipeline/triton.yaml': yaml }, 'models/pipeline')).toEqual({
      name: 'pipeline',
      root: 'models/pipeline',
      projectType: 'library',
      metadata: { technologies: tech },
      targets: { build: buildTarget('pipeline', tech, []), serve: serveTarget('pipeline', tech), tune: tuneTarget('pipeline', tech) },
    });
  });

  it('keeps a project with broken YAML, with a build target that will report the error', async () => {
    const files = {
      'models/broken/triton.yaml': 'platform: [onnxruntime_onnx\n  max_batch_size: : 8\n',
      'models/list/triton.yaml': '- just\n- a list\n',
      'models/bad_name/triton.yaml': 'name: ../escape\nexport: { file: model.onnx }\n',
    };
    const results = await run(files);
    expect(results.map(([file]) => file).sort()).toEqual(Object.keys(files).sort());
    const tech = ['triton'];
    expect(results.find(([f]) => f === 'models/broken/triton.yaml')?.[1].projects?.['models/broken']).toEqual({
      name: 'broken',
      root: 'models/broken',
      projectType: 'library',
      metadata: { technologies: tech },
      targets: { build: buildTarget('broken', tech, []), serve: serveTarget('broken', tech), tune: tuneTarget('broken', tech) },
    });
    expect(results.find(([f]) => f === 'models/list/triton.yaml')?.[1].projects?.['models/list']?.name).toBe('list');
    const badName = results.find(([f]) => f === 'models/bad_name/triton.yaml')?.[1].projects?.['models/bad_name'];
    expect(badName?.name).toBe('bad_name');
    expect(Object.keys(badName?.targets ?? {})).toEqual(['export', 'build', 'serve', 'tune']);
  });

  it('does not stall on an alias bomb', async () => {
    const lines = ['a: &a [x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 12; i++) lines.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${String.fromCharCode(96 + i)}`).join(', ')}]`);
    const started = Date.now();
    const p = await project({ 'bomb/triton.yaml': lines.join('\n') + '\n' }, 'bomb');
    expect(p?.name).toBe('bomb');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('follows the plugin options: target names, repository, python', async () => {
    const options = {
      buildTargetName: 'triton-build',
      exportTargetName: 'onnx',
      engineTargetName: 'trt',
      repository: './out/repo/',
      python: '/opt/py env/bin/python"3',
    };
    const yaml = 'platform: tensorrt_plan\nexport:\n  torch: { model: net:build }\n';
    const runtime = pythonFingerprintCommand(options.python, ['net']);
    const tech = ['triton', 'onnx', 'tensorrt', 'pytorch'];
    const p = await project({ 'models/custom/triton.yaml': yaml }, 'models/custom', options);
    expect(p?.targets).toEqual({
      onnx: exportTarget('custom', tech, options.python, runtime),
      trt: { ...engineTarget('custom', ['onnx']), metadata: { ...engineTarget('custom', ['onnx']).metadata, technologies: tech } },
      'triton-build': buildTarget('custom', tech, ['onnx', 'trt'], 'out/repo', { build: 'triton-build', export: 'onnx' }),
      serve: serveTarget('custom', tech, { repository: 'out/repo' }, 'triton-build'),
      tune: tuneTarget('custom', tech, 'out/repo', 'triton-build'),
    });
  });

  it('rejects a repository outside the workspace and clashing target names', async () => {
    await expect(run({ 'm/triton.yaml': 'platform: onnxruntime_onnx\n' }, { repository: '../elsewhere' })).rejects.toThrow(
      'nx-triton: plugin option "repository" must be a directory inside the workspace (got "../elsewhere")',
    );
    await expect(run({ 'm/triton.yaml': '{}' }, { exportTargetName: 'build' })).rejects.toThrow(/must differ/);
    await expect(run({ 'm/triton.yaml': '{}' }, { buildTargetName: 'serve' })).rejects.toThrow(
      'nx-triton: plugin options buildTargetName, exportTargetName and engineTargetName cannot be "serve" (the serve target\'s name)',
    );
  });
});

describe('two triton.yaml files with one model name', () => {
  it('fails both with their files and lines, instead of Nx advice about project.json', async () => {
    const files = {
      'models/a/triton.yaml': 'platform: onnxruntime_onnx\nname: shared\n',
      'models/shared/triton.yaml': '# the directory names it\nplatform: onnxruntime_onnx\n',
      'models/c/triton.yaml': 'platform: onnxruntime_onnx\n',
    };
    const error = await run(files).then(
      () => undefined,
      (err: unknown) => err as { errors: Array<[string, Error]>; partialResults: CreateNodesResultV2 },
    );
    expect(error).toBeDefined();
    const messages = Object.fromEntries((error?.errors ?? []).map(([file, err]) => [file, err.message]));
    expect(messages).toEqual({
      'models/a/triton.yaml':
        'models/a/triton.yaml:2:1 (name:): model name "shared" is also the name of models/shared/triton.yaml:1:1 (no name:, so its directory\'s name); ' +
        'model names are unique in a workspace (they are the project and the repository directory): rename one with name:',
      'models/shared/triton.yaml':
        'models/shared/triton.yaml:1:1 (no name:, so its directory\'s name): model name "shared" is also the name of models/a/triton.yaml:2:1 (name:); ' +
        'model names are unique in a workspace (they are the project and the repository directory): rename one with name:',
    });
    // The other models still make their projects.
    expect(error?.partialResults.map(([file]) => file)).toEqual(['models/c/triton.yaml']);
  });
});

describe('model names that would be globs in Nx outputs (issue 22, N3)', () => {
  it('makes no project for a directory named "*" and keeps a bad name: out of the outputs', async () => {
    const files = {
      'models/*/triton.yaml': 'platform: onnxruntime_onnx\n',
      'models/safe/triton.yaml': 'platform: onnxruntime_onnx\nname: "{options.zzz ?? ..}"\n',
    };
    const error = await run(files).then(
      () => undefined,
      (err: unknown) => err as { errors: Array<[string, Error]>; partialResults: CreateNodesResultV2 },
    );
    const messages = Object.fromEntries((error?.errors ?? []).map(([file, err]) => [file, err.message]));
    expect(messages).toEqual({
      'models/*/triton.yaml':
        'models/*/triton.yaml:1:1 (no name:, so its directory\'s name): a model name cannot contain "*" (got "*"): the name is part of the Nx outputs of its targets, ' +
        'where * ? [ ] { } ( ) ! make a glob or a template over other models (Triton takes such names; nx-triton does not); set name:',
    });
    // A name: the loader refuses falls back to the directory's name in the graph (its build reports the name).
    const safe = error?.partialResults.find(([file]) => file === 'models/safe/triton.yaml')?.[1].projects?.['models/safe'];
    expect(safe?.targets?.build?.outputs).toEqual(['{workspaceRoot}/dist/model-repository/safe']);
  });
});
