import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { CreateDependenciesContext, FileData, ProjectConfiguration } from '@nx/devkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDependencies } from './create-dependencies';

let workspaceRoot: string;

beforeEach(() => {
  workspaceRoot = mkdtempSync(join(tmpdir(), 'nx-triton-deps-'));
});
afterEach(() => rmSync(workspaceRoot, { recursive: true, force: true }));

/** name -> (root, files); every file is written and listed in the file map. */
function context(models: Record<string, { root: string; files: Record<string, string> }>, changed?: string[]): CreateDependenciesContext {
  const projects: Record<string, ProjectConfiguration> = {};
  const projectFileMap: Record<string, FileData[]> = {};
  for (const [name, { root, files }] of Object.entries(models)) {
    projects[name] = { name, root };
    projectFileMap[name] = Object.entries(files).map(([rel, text]) => {
      const file = root === '.' ? rel : `${root}/${rel}`;
      mkdirSync(dirname(join(workspaceRoot, file)), { recursive: true });
      writeFileSync(join(workspaceRoot, file), text);
      return { file, hash: String(text.length) };
    });
  }
  const fileMap = { projectFileMap, nonProjectFiles: [] };
  const filesToProcess = changed
    ? { projectFileMap: Object.fromEntries(Object.entries(projectFileMap).filter(([n]) => changed.includes(n))), nonProjectFiles: [] }
    : fileMap;
  return { externalNodes: {}, projects, nxJsonConfiguration: {}, fileMap, filesToProcess, workspaceRoot };
}

const ensemble = [
  'platform: ensemble',
  'ensemble_scheduling:',
  '  step:',
  '    - model_name: pre',
  '      model_version: -1',
  '    - model_name: my_nn_trt',
  '    - model_name: pre',
  '    - model_name: not_a_project',
].join('\n');

const workspace = {
  my_nn: { root: 'models/my_nn', files: { 'triton.yaml': 'platform: onnxruntime_onnx\nexport: { file: model.onnx }\n', 'net.py': 'from: nothing\n' } },
  my_nn_trt: { root: 'models/my_nn_trt', files: { 'triton.yaml': 'platform: tensorrt_plan\nfrom: my_nn\n' } },
  pre: { root: 'models/pre', files: { 'triton.yaml': 'backend: python\n', 'model.py': '' } },
  pipeline: { root: 'models/pipeline', files: { 'triton.yaml': ensemble } },
};

describe('createDependencies', () => {
  it('links from: and ensemble steps to the model projects they name, from triton.yaml', async () => {
    const deps = await createDependencies(undefined, context(workspace));
    expect(deps).toEqual([
      { source: 'my_nn_trt', target: 'my_nn', sourceFile: 'models/my_nn_trt/triton.yaml', type: 'static' },
      { source: 'pipeline', target: 'pre', sourceFile: 'models/pipeline/triton.yaml', type: 'static' },
      { source: 'pipeline', target: 'my_nn_trt', sourceFile: 'models/pipeline/triton.yaml', type: 'static' },
    ]);
  });

  it('reads only the projects whose files changed', async () => {
    const deps = await createDependencies(undefined, context(workspace, ['pipeline', 'my_nn']));
    expect(deps.map((d) => `${d.source}->${d.target}`)).toEqual(['pipeline->pre', 'pipeline->my_nn_trt']);
  });

  it('ignores self references, broken YAML and projects without a triton.yaml', async () => {
    const deps = await createDependencies(
      undefined,
      context({
        a: { root: 'a', files: { 'triton.yaml': 'from: a\n' } },
        b: { root: 'b', files: { 'triton.yaml': 'from: [a\n' } },
        c: { root: 'c', files: { 'package.json': '{}', 'sub/triton.yaml': 'from: a\n' } },
        d: { root: '.', files: { 'triton.yaml': 'from: a\n' } },
      }),
    );
    expect(deps).toEqual([{ source: 'd', target: 'a', sourceFile: 'triton.yaml', type: 'static' }]);
  });
});
