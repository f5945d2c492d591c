import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readRepository } from './read-repository';

let repo: string;
beforeEach(() => {
  repo = mkdtempSync(join(tmpdir(), 'nx-triton-read-repo-'));
});
afterEach(() => rmSync(repo, { recursive: true, force: true }));

function put(path: string, content = 'x'): void {
  mkdirSync(dirname(join(repo, path)), { recursive: true });
  writeFileSync(join(repo, path), content);
}

const ONNX_CONFIG = 'platform: "onnxruntime_onnx"\n';

describe('readRepository', () => {
  it('takes numeric version directories as Triton does and says what it leaves out', () => {
    put('m/config.pbtxt', ONNX_CONFIG);
    for (const v of ['1', '2', '10', '0', '01', 'abc', 'configs', 'initial_state']) put(`m/${v}/model.onnx`);
    put('m/3'); // a file, not a version directory
    put('m/.hidden');
    const listing = readRepository(repo, 'repo');
    expect(listing.errors).toEqual([]);
    expect(listing.models.map((m) => m.name)).toEqual(['m']);
    const [model] = listing.models;
    expect(model.versions.map((v) => [v.version, v.entries])).toEqual([
      [1, ['model.onnx']],
      [2, ['model.onnx']],
      [10, ['model.onnx']],
    ]);
    expect(model.versions[2].dir).toBe(join(repo, 'm', '10'));
    expect(model.configFile).toBe('repo/m/config.pbtxt');
    expect(listing.warnings).toEqual([
      'repo/m/0: version 0 is not imported (nx-triton versions start at 1); rename it to import it',
      'repo/m/01/: Triton ignores this version directory (leading zero or not a number), not imported',
      'repo/m/3: not named by config.pbtxt, not imported',
      'repo/m/abc: not named by config.pbtxt, not imported',
      'repo/m/configs/: not imported (nx-triton builds config.pbtxt only)',
      'repo/m/initial_state/: not imported (nx-triton builds config.pbtxt only)',
    ]);
  });

  it('skips a model directory without config.pbtxt with a warning, and files at the top', () => {
    put('auto/1/model.onnx');
    put('good/config.pbtxt', ONNX_CONFIG);
    put('good/1/model.onnx');
    put('README.md');
    const listing = readRepository(repo, 'repo/');
    expect(listing.models.map((m) => m.name)).toEqual(['good']);
    expect(listing.warnings).toEqual([
      'repo/README.md: not a model directory, skipped',
      'repo/auto: no config.pbtxt, skipped (Triton may auto-complete its config, but an import needs it written down)',
    ]);
    expect(listing.errors).toEqual([]);
  });

  it('finds the label files and warm-up data the config names', () => {
    put(
      'c/config.pbtxt',
      `platform: "onnxruntime_onnx"
       output [ { name: "a" label_filename: "labels/a.txt" }, { name: "b" label_filename: "b.txt" }, { name: "c" } ]
       model_warmup [ { name: "w" inputs { key: "x" value { input_data_file: "x.bin" } } inputs { key: "y" value { zero_data: true } } } ]`,
    );
    put('c/1/model.onnx');
    put('c/labels/a.txt');
    put('c/b.txt');
    put('c/warmup/x.bin');
    const listing = readRepository(repo, 'repo');
    expect(listing.errors).toEqual([]);
    expect(listing.warnings).toEqual([]);
    expect(listing.models[0].namedFiles).toEqual(['b.txt', 'labels/a.txt', 'warmup/x.bin']);
  });

  it('collects every problem: bad config, name mismatch, missing files, paths outside, no version', () => {
    put('bad/config.pbtxt', 'platform: "onnxruntime_onnx"\nmax_batch_size: "eight"\n');
    put('bad/1/model.onnx');
    put('renamed/config.pbtxt', 'name: "other"\nplatform: "onnxruntime_onnx"\n');
    put('renamed/1/model.onnx');
    put('labels/config.pbtxt', 'platform: "onnxruntime_onnx"\noutput [ { name: "o" label_filename: "missing.txt" }, { name: "p" label_filename: "../escape.txt" } ]\n');
    put('labels/1/model.onnx');
    put('empty/config.pbtxt', ONNX_CONFIG);
    const listing = readRepository(repo, 'repo');
    expect(listing.models).toEqual([]);
    expect(listing.errors).toEqual([
      'repo/bad/config.pbtxt:2:17: max_batch_size: Expected integer, got: "eight"',
      'repo/empty: no version directory (such as repo/empty/1/); Triton cannot load the model',
      'repo/labels/config.pbtxt: "../escape.txt" is not a path inside the model directory',
      'repo/labels/config.pbtxt: names "missing.txt", but repo/labels/missing.txt is not a file',
      'repo/renamed/config.pbtxt: name: "other" differs from the directory name "renamed"; Triton requires them to be equal',
    ]);
  });

  // Issue 22, N18: the import took "../labels.txt" (warmup/../labels.txt is inside the model directory) and
  // wrote it into triton.yaml, whose build then refused it. One check now, in both.
  it('refuses a warm-up file the build would refuse, with the build\'s words', () => {
    put('m/config.pbtxt', 'platform: "onnxruntime_onnx"\noutput [ { name: "o" label_filename: "labels.txt" } ]\nmodel_warmup [ { name: "w" batch_size: 1 inputs { key: "x" value { data_type: TYPE_FP32 dims: [ 4 ] input_data_file: "../labels.txt" } } } ]\n');
    put('m/labels.txt');
    put('m/1/model.onnx');
    expect(readRepository(repo, 'repo').errors).toEqual([
      'repo/m/config.pbtxt: model_warmup[0].inputs.x.input_data_file: "../labels.txt" cannot be used: it goes up with ".." (Triton reads warm-up data from the model\'s warmup/ directory)',
    ]);
  });

  it('follows a symbolic link to a model directory inside the repository', () => {
    put('real/config.pbtxt', ONNX_CONFIG);
    put('real/1/model.onnx');
    symlinkSync(join(repo, 'real'), join(repo, 'linked'));
    put('linked2/config.pbtxt', ONNX_CONFIG);
    symlinkSync(join(repo, 'real/1'), join(repo, 'linked2/1'));
    expect(readRepository(repo, 'repo').models.map((m) => [m.name, m.versions.length])).toEqual([['linked', 1], ['linked2', 1], ['real', 1]]);
  });

  it('refuses a link at any component of any path that leads out of the repository', () => {
    const outside = mkdtempSync(join(tmpdir(), 'nx-triton-read-elsewhere-'));
    try {
      mkdirSync(join(outside, 'ssh'));
      writeFileSync(join(outside, 'ssh', 'id_rsa'), 'secret');
      writeFileSync(join(outside, 'secret.txt'), 'secret');
      writeFileSync(join(outside, 'config.pbtxt'), ONNX_CONFIG);
      mkdirSync(join(outside, 'model', '1'), { recursive: true });
      writeFileSync(join(outside, 'model', 'config.pbtxt'), ONNX_CONFIG);
      writeFileSync(join(outside, 'model', '1', 'model.onnx'), 'x');
      // label_filename: "ext/secret.txt" with ext -> outside: the last component is a plain file
      put('labels/config.pbtxt', 'platform: "onnxruntime_onnx"\noutput [ { name: "o" label_filename: "ext/secret.txt" } ]\n');
      put('labels/1/model.onnx');
      symlinkSync(outside, join(repo, 'labels/ext'));
      // the newest version directory is a link
      put('newest/config.pbtxt', ONNX_CONFIG);
      put('newest/1/model.onnx');
      symlinkSync(join(outside, 'ssh'), join(repo, 'newest/2'));
      put('config/1/model.onnx');
      symlinkSync(join(outside, 'config.pbtxt'), join(repo, 'config/config.pbtxt'));
      symlinkSync(join(outside, 'model'), join(repo, 'whole'));
      const listing = readRepository(repo, 'repo');
      expect(listing.models).toEqual([]);
      expect(listing.errors).toEqual([
        `repo/config/config.pbtxt: leads through a symbolic link to ${outside}/config.pbtxt, outside the repository; an import copies only what is inside it`,
        `repo/labels/ext/secret.txt: leads through a symbolic link to ${outside}/secret.txt, outside the repository; an import copies only what is inside it`,
        `repo/newest/2: leads through a symbolic link to ${outside}/ssh, outside the repository; an import copies only what is inside it`,
        `repo/whole: leads through a symbolic link to ${outside}/model, outside the repository; an import copies only what is inside it`,
      ]);
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it('refuses model names that would be globs in Nx outputs, as triton.yaml does (issue 22, N3)', () => {
    for (const name of ['*', '{options.x}']) {
      put(`${name}/config.pbtxt`, ONNX_CONFIG);
      put(`${name}/1/model.onnx`);
    }
    const listing = readRepository(repo, 'repo');
    expect(listing.models).toEqual([]);
    expect(listing.errors).toEqual([
      'repo/*: a model name cannot contain "*" (got "*"): the name is part of the Nx outputs of its targets, where * ? [ ] { } ( ) ! make a glob or a template over other models (Triton takes such names; nx-triton does not)',
      'repo/{options.x}: a model name cannot contain "{" (got "{options.x}"): the name is part of the Nx outputs of its targets, where * ? [ ] { } ( ) ! make a glob or a template over other models (Triton takes such names; nx-triton does not)',
    ]);
  });

  it('refuses a config.pbtxt that is not UTF-8 with its place, instead of reading U+FFFD (issue 22, F11)', () => {
    put('m/config.pbtxt', Buffer.concat([Buffer.from('platform: "onnxruntime_onnx"\nname: "m'), Buffer.from([0xff]), Buffer.from('"\n')]) as unknown as string);
    put('m/1/model.onnx');
    expect(readRepository(repo, 'repo').errors).toEqual(['repo/m/config.pbtxt:2:9: the file is not UTF-8 text (invalid byte 0xff at offset 37)']);
  });

  it('refuses what is not a directory, and a repository without models', () => {
    expect(() => readRepository(join(repo, 'nope'), 'nope')).toThrow('nope: not a directory (expected a Triton model repository)');
    expect(readRepository(repo, 'repo').errors).toEqual(['repo: no model directory with a config.pbtxt found']);
  });
});
