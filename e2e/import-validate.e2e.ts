import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeModelFiles, writeRepository } from '../lib/import/__fixtures__/repository';
import { configsEqual, parsePbtxt } from '../proto/text-format';
import { expectTritonServes, scaleCase } from '../test/triton-oracle';
import { createWorkspace, type Workspace } from './workspace';

// A realistic repository that no Nx workspace built: rich ONNX config with two versions, labels and
// warm-up data, an ensemble, a python backend model, TorchScript, ONNX in the model.onnx/ form.
const scratch = mkdtempSync(join(tmpdir(), 'nx-triton-import-e2e-'));
const original = join(scratch, 'repository');
const MODELS = ['classifier', 'ensemble_pipeline', 'external_onnx', 'postprocess', 'torch_linear'];

function filesUnder(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const full = join(d, name);
      if (statSync(full).isDirectory()) walk(full);
      else out.set(relative(dir, full), readFileSync(full));
    }
  };
  walk(dir);
  return out;
}

describe('import an existing repository and validate repositories, from the packed tarball', () => {
  let ws: Workspace;
  const validate = (dir: string, ...flags: string[]) => {
    const r = spawnSync(join(ws.root, 'node_modules/.bin/nx-triton'), ['validate', dir, ...flags], { encoding: 'utf8', cwd: ws.root });
    return { code: r.status, out: `${r.stdout}${r.stderr}` };
  };

  beforeAll(() => {
    const files = makeModelFiles();
    writeRepository(original, files);
    rmSync(files, { recursive: true, force: true });
    ws = createWorkspace();
    expect(ws.nx(['g', 'nx-triton:init']).code).toBe(0);
  });
  afterAll(() => {
    ws?.remove();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('nx g nx-triton:import makes one project per model, and run-many builds them back', () => {
    const imported = ws.nx(['g', 'nx-triton:import', original]);
    expect(imported.code, imported.out).toBe(0);
    expect(imported.out).toContain('nx-triton: imported 5 models');
    expect(readdirSync(join(ws.root, 'models')).sort()).toEqual(MODELS);

    const built = ws.nx(['run-many', '-t', 'build']);
    expect(built.code, built.out).toBe(0);
    const repository = join(ws.root, 'dist/model-repository');
    for (const name of MODELS) {
      const before = readFileSync(join(original, name, 'config.pbtxt'), 'utf8');
      const after = readFileSync(join(repository, name, 'config.pbtxt'), 'utf8');
      expect(configsEqual(parsePbtxt(after, 'built'), { ...parsePbtxt(before, 'original'), name }), name).toBe(true);
      if (name === 'ensemble_pipeline') continue;
      // Every file Triton serves comes back byte for byte (the ignored 01/ and README stay behind).
      const served = filesUnder(join(original, name));
      for (const path of [...served.keys()]) if (path === 'config.pbtxt' || path.startsWith('01/') || path === 'README.md') served.delete(path);
      const entry = filesUnder(join(repository, name));
      entry.delete('config.pbtxt');
      expect([...entry.keys()].sort(), name).toEqual([...served.keys()].sort());
      for (const [path, bytes] of served) expect(entry.get(path)!.equals(bytes), `${name}/${path}`).toBe(true);
    }
  });

  it('a second import of the same repository is refused, and nothing is overwritten', () => {
    const yaml = readFileSync(join(ws.root, 'models/classifier/triton.yaml'));
    const again = ws.nx(['g', 'nx-triton:import', original]);
    expect(again.code).not.toBe(0);
    expect(again.out).toMatch(/classifier/);
    expect(readFileSync(join(ws.root, 'models/classifier/triton.yaml')).equals(yaml)).toBe(true);
  });

  it('nx-triton validate reads a repository no Nx workspace built', () => {
    // Its only flaw: a version directory Triton skips (a leading zero): a warning, as Triton loads the model.
    for (const flags of [[], ['--config-only']]) {
      const r = validate(original, ...flags);
      expect(r.code, r.out).toBe(0);
      expect(r.out.trim().split('\n')).toEqual([
        "classifier/config.pbtxt: 01/: warning: version directory '01' starts with 0, so Triton ignores it; name it 1",
        'ok: 6 models (1 warning)',
      ]);
    }
  });

  it('nx-triton validate accepts the built repository and reports a broken one, one line per problem', () => {
    const ok = validate('dist/model-repository');
    expect(ok.code, ok.out).toBe(0);
    expect(ok.out).toContain('ok: 5 models');

    const broken = join(scratch, 'broken');
    cpSync(join(ws.root, 'dist/model-repository'), broken, { recursive: true });
    const classifier = join(broken, 'classifier/config.pbtxt');
    writeFileSync(classifier, readFileSync(classifier, 'utf8').replace('max_batch_size: 8', 'max_batch_size: 2'));
    writeFileSync(join(broken, 'torch_linear/config.pbtxt'), 'name: "torch_linear"\nplatform: "pytorch_libtorch"\nmax_batch_size: 4\ninput { name: "INPUT__0" data_type: TYPE_FP32 dims: [ 0 ] }\n');
    writeFileSync(join(broken, 'postprocess/config.pbtxt'), 'name: "postprocess"\nbackend: "python"\ninput { name: "x" data_type: TYPE_FLOAT }\n');
    const bad = validate(broken);
    expect(bad.code).toBe(1);
    const lines = bad.out.split('\n');
    expect(lines).toContainEqual(expect.stringMatching(/^classifier\/config\.pbtxt: dynamic_batching\.preferred_batch_size\[\d\]: .*8/));
    expect(lines).toContainEqual(expect.stringMatching(/^torch_linear\/config\.pbtxt: input\[0\]\.dims/));
    expect(lines).toContainEqual(expect.stringMatching(/^postprocess\/config\.pbtxt:3:\d+: input\[0\]\.data_type: .*TYPE_FLOAT/));
    return expectTritonServes(join(ws.root, 'dist/model-repository'), { infer: { postprocess: [scaleCase('INPUT0', 'OUTPUT0', [1, 4], 0.5)] } });
  });

  it('an untrusted repository: a link out of it is refused with nothing written; imported files are copies', () => {
    const hostile = join(scratch, 'hostile');
    const outside = join(scratch, 'outside');
    mkdirSync(join(hostile, 'thief/1'), { recursive: true });
    mkdirSync(outside);
    writeFileSync(join(outside, 'secret.txt'), 'secret\n');
    cpSync(join(original, 'classifier/3/model.onnx'), join(hostile, 'thief/1/model.onnx'));
    writeFileSync(join(hostile, 'thief/config.pbtxt'), 'platform: "onnxruntime_onnx"\noutput [ { name: "o" label_filename: "ext/secret.txt" } ]\n');
    symlinkSync(outside, join(hostile, 'thief/ext'));
    const r = ws.nx(['g', 'nx-triton:import', hostile, '--directory', 'hostile']);
    expect(r.code).not.toBe(0);
    expect(r.out).toContain(`${hostile}/thief/ext/secret.txt: leads through a symbolic link to ${outside}/secret.txt, outside the repository`);
    expect(existsSync(join(ws.root, 'hostile'))).toBe(false);

    // The first import copied: the workspace's model file can change without the repository's.
    const source = join(original, 'classifier/3/model.onnx');
    const before = readFileSync(source);
    const copy = join(ws.root, 'models/classifier/model.onnx');
    writeFileSync(copy, 'edited');
    try {
      expect(readFileSync(source).equals(before)).toBe(true);
    } finally {
      writeFileSync(copy, before);
    }
  });
});
