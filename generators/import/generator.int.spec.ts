import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { logger } from '@nx/devkit';
import { FsTree } from 'nx/src/devkit-internals';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configsEqual, parsePbtxt } from '../../proto/text-format';
import { protocDecode, protocEncode } from '../../test/protoc';
import { runExport } from '../../lib/targets/export';
import { CONFIGS, makeModelFiles, writeRepository } from '../../lib/import/__fixtures__/repository';
import { buildModel } from '../../lib/targets/build';
import { loadSpec } from '../../lib/model-spec';
import { importGenerator, type ImportGeneratorSchema } from './generator';

let scratch: string;
let modelFiles: string;
let repo: string;

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'nx-triton-import-'));
  modelFiles = makeModelFiles();
  repo = join(scratch, 'triton-repo');
  writeRepository(repo, modelFiles);
}, 60_000);

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
  rmSync(modelFiles, { recursive: true, force: true });
});

function newWorkspace(): string {
  const root = mkdtempSync(join(scratch, 'ws-'));
  writeFileSync(join(root, 'nx.json'), '{}\n');
  writeFileSync(join(root, 'package.json'), '{ "name": "ws", "private": true }\n');
  return root;
}

/** What `nx g` does: run the generator on the real file system, write the Tree, run the callback. */
async function runImport(root: string, options: ImportGeneratorSchema) {
  const tree = new FsTree(root, false);
  const lines: string[] = [];
  const { info, warn } = logger;
  logger.info = (m: unknown) => void lines.push(String(m));
  logger.warn = (m: unknown) => void lines.push(`WARN ${String(m)}`);
  try {
    const callback = await importGenerator(tree, options);
    for (const change of tree.listChanges()) {
      const path = join(root, change.path);
      if (change.type === 'DELETE') rmSync(path, { recursive: true, force: true });
      else {
        mkdirSync(dirname(path), { recursive: true });
        writeFileSync(path, change.content!);
      }
    }
    await callback();
  } finally {
    logger.info = info;
    logger.warn = warn;
  }
  return lines;
}

/** Every file under `dir` (relative posix path -> bytes). */
function filesUnder(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      if (name === '.nx' && d === dir) continue; // Nx's own cache
      const full = join(d, name);
      if (statSync(full).isDirectory()) walk(full);
      else out.set(relative(dir, full).split('\\').join('/'), readFileSync(full));
    }
  };
  walk(dir);
  return out;
}

/** The message as libprotobuf prints it after parsing the text (maps sorted, defaults dropped). */
function protocCanonical(text: string): string {
  return protocDecode(protocEncode(text));
}

const IMPORTED = ['classifier', 'ensemble_pipeline', 'external_onnx', 'postprocess', 'torch_linear'];

describe('nx g nx-triton:import', () => {
  it('round trip: the imported projects build back to the same configs (as messages) and byte-identical files', async () => {
    const ws = newWorkspace();
    const lines = await runImport(ws, { repositoryDir: repo });

    expect(readdirSync(join(ws, 'models')).sort()).toEqual(IMPORTED);
    expect(lines).toContain(`WARN nx-triton: ${repo}/not_a_model: no config.pbtxt, skipped (Triton may auto-complete its config, but an import needs it written down)`);
    expect(lines).toContain(`WARN nx-triton: ${repo}/classifier/01/: Triton ignores this version directory (leading zero or not a number), not imported`);
    expect(lines).toContain('nx-triton: imported 5 models');
    expect(lines).toContain(
      '  classifier -> models/classifier/triton.yaml (versions 1, 3; copied versions/1, model.onnx, labels.txt, warmup/input0.bin)',
    );

    // The newest version is the export source; older ones are kept under versions/<n>/.
    const classifier = loadSpec(join(ws, 'models/classifier/triton.yaml'), { displayPath: 'models/classifier/triton.yaml' });
    expect(classifier.version).toBe(3);
    expect(classifier.previousVersions).toEqual({ '1': 'versions/1' });
    expect(classifier.export).toEqual({ file: 'model.onnx' });
    // Model files are copies, never hard links: the workspace's copy can change without the repository.
    expect(statSync(join(ws, 'models/classifier/model.onnx')).ino).not.toBe(statSync(join(repo, 'classifier/3/model.onnx')).ino);

    const specFile = (name: string) => join(ws, 'models', name, 'triton.yaml');
    // In Nx's order: an ensemble's build runs after its steps' (they must be in the repository).
    const buildOrder = [...IMPORTED.filter((n) => n !== 'ensemble_pipeline'), 'ensemble_pipeline'];
    for (const name of buildOrder) {
      const spec = loadSpec(specFile(name), { displayPath: `models/${name}/triton.yaml` });
      expect(spec.name).toBe(name);
      if (spec.export) await runExport({ spec, workspaceRoot: ws });
      await buildModel({ workspaceRoot: ws, specFile: specFile(name), repository: 'dist/model-repository', resolveSpecFile: specFile });
    }

    const built = join(ws, 'dist/model-repository');
    expect(readdirSync(built).sort()).toEqual(IMPORTED);
    for (const name of IMPORTED) {
      const original = readFileSync(join(repo, name, 'config.pbtxt'), 'utf8');
      const withName = /^name:/m.test(original) ? original : `name: "${name}"\n${original}`;
      const rebuilt = readFileSync(join(built, name, 'config.pbtxt'), 'utf8');
      expect(protocCanonical(rebuilt), name).toBe(protocCanonical(withName));
      expect(configsEqual(parsePbtxt(rebuilt, 'built'), parsePbtxt(withName, 'original')), name).toBe(true);

      // What Triton serves from the original: version directories, labels, warm-up data.
      const served = filesUnder(join(repo, name));
      for (const path of [...served.keys()]) if (path === 'config.pbtxt' || path.startsWith('01/') || path === 'README.md') served.delete(path);
      const entry = filesUnder(join(built, name));
      entry.delete('config.pbtxt');
      if (name === 'ensemble_pipeline') {
        expect([...entry.keys()]).toEqual(['1/.nx-triton-ensemble']);
        expect(existsSync(join(repo, name, '1'))).toBe(true);
        continue;
      }
      expect([...entry.keys()].sort(), name).toEqual([...served.keys()].sort());
      for (const [path, bytes] of served) expect(entry.get(path)!.equals(bytes), `${name}/${path}`).toBe(true);
    }
  }, 60_000);

  it('writes readable triton.yaml files', async () => {
    const ws = newWorkspace();
    await runImport(ws, { repositoryDir: repo, directory: 'serving/models' });
    const text = readFileSync(join(ws, 'serving/models/postprocess/triton.yaml'), 'utf8');
    expect(text).toBe(`# yaml-language-server: $schema=../../../node_modules/nx-triton/schemas/triton.schema.json
# Imported by nx-triton from ${repo}/postprocess/config.pbtxt

backend: python
max_batch_size: 8
input:
  - {name: INPUT0, data_type: TYPE_FP32, dims: [4]}
output:
  - {name: OUTPUT0, data_type: TYPE_FP32, dims: [4]}
instance_group:
  - {kind: KIND_CPU, count: 2}
dynamic_batching: {}
parameters: {scale: {string_value: "0.5"}}

# nx-triton keys (not written to config.pbtxt)
version: 1
export: {file: versions/1}
`);
    // model.py imports scaling.py beside it: the version directory is the export (python's directory form).
    expect(readdirSync(join(ws, 'serving/models/postprocess/versions/1')).sort()).toEqual(['model.py', 'scaling.py']);
    const external = readFileSync(join(ws, 'serving/models/external_onnx/triton.yaml'), 'utf8');
    expect(external).toContain('export: {file: model.onnx}\n');
    expect(statSync(join(ws, 'serving/models/external_onnx/model.onnx')).isDirectory()).toBe(true);
  }, 30_000);

  it('reports every clash with the workspace and writes nothing', async () => {
    const ws = newWorkspace();
    mkdirSync(join(ws, 'models/classifier'), { recursive: true });
    writeFileSync(join(ws, 'models/classifier/notes.md'), 'mine\n');
    mkdirSync(join(ws, 'apps/torch'), { recursive: true });
    writeFileSync(join(ws, 'apps/torch/triton.yaml'), 'name: torch_linear\nplatform: pytorch_libtorch\n');
    mkdirSync(join(ws, 'libs/postprocess'), { recursive: true });
    writeFileSync(join(ws, 'libs/postprocess/project.json'), '{ "name": "postprocess", "root": "libs/postprocess" }\n');
    const before = filesUnder(ws);

    await expect(runImport(ws, { repositoryDir: repo })).rejects.toThrow(
      'nothing imported, 3 model(s) clash with the workspace (rename them, or import elsewhere with --directory):\n' +
        '  models/classifier already exists (model classifier)\n' +
        '  Model postprocess already exists\n' +
        '  Model torch_linear already exists',
    );
    expect(filesUnder(ws)).toEqual(before);
    expect(readdirSync(join(ws, 'models'))).toEqual(['classifier']);
  });

  it('reports a repository that is not a directory', async () => {
    const ws = newWorkspace();
    await expect(runImport(ws, { repositoryDir: 'no/such/repo' })).rejects.toThrow('no/such/repo: not a directory (expected a Triton model repository)');
  });

  it('takes a path relative to the workspace root', async () => {
    const ws = newWorkspace();
    writeRepository(join(ws, 'legacy-repo'), modelFiles);
    rmSync(join(ws, 'legacy-repo/classifier'), { recursive: true });
    const lines = await runImport(ws, { repositoryDir: 'legacy-repo' });
    expect(lines).toContain('WARN nx-triton: legacy-repo/not_a_model: no config.pbtxt, skipped (Triton may auto-complete its config, but an import needs it written down)');
    expect(readFileSync(join(ws, 'models/torch_linear/triton.yaml'), 'utf8')).toMatch(/^# yaml-language-server: \$schema=\.\.\/\.\.\/node_modules\/nx-triton\/schemas\/triton\.schema\.json\n# Imported by nx-triton from legacy-repo\/torch_linear\/config.pbtxt\n/);
    expect(Object.keys(CONFIGS).filter((n) => n !== 'classifier').every((n) => existsSync(join(ws, 'models', n, 'triton.yaml')))).toBe(true);
  });

  // Issue 22, N1: a project.json among the newest version's files landed beside the generated triton.yaml;
  // the next `nx run-many -t build` ran its command. Now refused before the Tree is written.
  it('refuses a repository that would plant an Nx project, and writes nothing', async () => {
    const ws = newWorkspace();
    const planted = join(scratch, 'planted-repo');
    writeRepository(planted, modelFiles);
    writeFileSync(join(planted, 'classifier/3/project.json'), '{ "targets": { "build": { "command": "touch pwned" } } }\n');
    const before = filesUnder(ws);
    await expect(runImport(ws, { repositoryDir: planted })).rejects.toThrow(
      `${join(planted, 'classifier/3/project.json')}: an import never brings in project.json: it would make or change an Nx project`,
    );
    expect(filesUnder(ws)).toEqual(before);
  });
});
