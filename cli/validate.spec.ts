import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { STAND_IN_TRTEXEC, standInEnv } from '../test/fixtures/stand-ins';
import { LINEAR_ONNX, tempRepo } from '../lib/repository/rules/__fixtures__/repo';
import { stampedOnnx } from '../lib/repository/rules/__fixtures__/stamp';
import { run } from './validate';
import { runVerb } from '../test/cli';

let cleanup: Array<() => void> = [];
afterEach(() => {
  cleanup.forEach((f) => f());
  cleanup = [];
});

const CONFIG = `name: "linear"
platform: "onnxruntime_onnx"
max_batch_size: 8
input [ { name: "x" data_type: TYPE_FP32 dims: [ 4 ] } ]
output [ { name: "y" data_type: TYPE_FP32 dims: [ 2 ] } ]
`;

function repo(config = CONFIG): string {
  const r = tempRepo({ 'linear/config.pbtxt': config, 'linear/1/model.onnx': { copy: LINEAR_ONNX } });
  cleanup.push(r.done);
  return r.dir;
}

const cli = (...argv: string[]) => runVerb(run, argv);

describe('nx-triton validate', () => {
  it('prints ok and exits 0 for a good repository', async () => {
    expect(await cli(repo())).toEqual({ code: 0, out: 'ok: 1 model\n', err: '' });
  });

  it('prints C1 and bidi controls of names escaped, never raw (issue 22, F11)', async () => {
    // An input named "a<U+202E>b<U+009B>2J": raw, U+202E turns the rest of the line around and U+009B is a terminal's CSI.
    const dir = repo(CONFIG.replace('name: "x"', 'name: "a\u202eb\u009b2J"'));
    const { code, out } = await cli(dir);
    expect(code).toBe(1);
    expect(out).not.toMatch(/[\u0080-\u009f\u202a-\u202e]/);
    expect(out).toContain('a\\u202eb\\u009b2J');
  });

  // Issue 22, F11. protoc 3.21.12 (libprotobuf's TextFormat, which Triton uses) keeps a raw 0xFF inside a string as
  // it is and only logs "String field 'inference.ModelConfig.name' contains invalid UTF-8 data when serializing a
  // protocol buffer" (printf 'name: "a\xffb"' | protoc --encode=inference.ModelConfig: 0a 03 61 ff 62). A JavaScript
  // string cannot hold that byte: reading it as U+FFFD changed the config. So it is refused, with its place.
  it('refuses a config.pbtxt that is not UTF-8, at the byte, instead of rewriting it as U+FFFD', async () => {
    const dir = repo();
    writeFileSync(join(dir, 'linear/config.pbtxt'), Buffer.concat([Buffer.from('name: "li'), Buffer.from([0xff]), Buffer.from(CONFIG.slice('name: "li'.length))]));
    const { code, out } = await cli(dir, '--config-only');
    expect(code).toBe(1);
    expect(out).toBe('linear/config.pbtxt:1:10: the file is not UTF-8 text (invalid byte 0xff at offset 9)\n');
  });

  it('refuses a config.pbtxt above the size cap before reading it', async () => {
    const dir = repo();
    truncateSync(join(dir, 'linear/config.pbtxt'), 16 * 2 ** 20 + 1); // sparse: nothing of it is read
    const { code, out } = await cli(dir, '--config-only');
    expect(code).toBe(1);
    expect(out).toBe('linear/config.pbtxt: the file is 16777217 bytes; a config.pbtxt may be at most 16777216 bytes (16 MiB)\n');
  });

  it('prints one line per problem and exits 1', async () => {
    const dir = repo(CONFIG.replace('dims: [ 4 ]', 'dims: [ 0 ]').replace('max_batch_size: 8', 'max_batch_size: 8\ninstance_group [ { kind: KIND_CPU gpus: [ 1 ] } ]'));
    const { code, out, err } = await cli(dir, '--config-only');
    expect(code).toBe(1);
    expect(out).toBe(
      'linear/config.pbtxt: input[0].dims[0]: dimension must be an integer >= 1, or -1 for a variable-size dimension, got 0\n' +
        'linear/config.pbtxt: instance_group[0].gpus: instance group has kind KIND_CPU but specifies one or more GPUs\n',
    );
    expect(err).toBe('2 problems in 1 of 1 models\n');
  });

  it('prints warnings for what Triton loads anyway (stray __pycache__/, .ipynb_checkpoints/, 01/), and exits 0', async () => {
    // Triton logs and skips a model directory's folders that are not version numbers (core
    // model_repository_manager.cc: the version directories are the numeric names); the real server
    // loads such a model (test/agreement).
    const r = tempRepo({
      'linear/config.pbtxt': CONFIG,
      'linear/1/model.onnx': { copy: LINEAR_ONNX },
      'linear/__pycache__/model.cpython-311.pyc': '',
      'linear/.ipynb_checkpoints/config-checkpoint.pbtxt': '',
      'linear/01/model.onnx': { copy: LINEAR_ONNX },
    });
    cleanup.push(r.done);
    const { code, out, err } = await cli(r.dir);
    expect({ code, err }).toEqual({ code: 0, err: '' });
    expect(out.split('\n')).toEqual([
      "linear/config.pbtxt: .ipynb_checkpoints/: warning: '.ipynb_checkpoints' is not a version directory (versions are named 1, 2, ...); Triton ignores it",
      "linear/config.pbtxt: 01/: warning: version directory '01' starts with 0, so Triton ignores it; name it 1",
      "linear/config.pbtxt: __pycache__/: warning: '__pycache__' is not a version directory (versions are named 1, 2, ...); Triton ignores it",
      'ok: 1 model (3 warnings)',
      '',
    ]);
    const json = JSON.parse((await cli(r.dir, '--json')).out);
    expect(json.ok).toBe(true);
    expect(json.problems.map((p: { warning?: boolean }) => p.warning)).toEqual([true, true, true]);
  });

  it('keeps line:col for syntax errors', async () => {
    const { code, out } = await cli(repo('name: "linear"\nplatform: "onnxruntime_onnx"\nmax_batch_size: 8\ninput [ { name: "x" data_type: TYPE_FLOAT32 dims: [4] } ]\n'));
    expect(code).toBe(1);
    expect(out).toMatch(/^linear\/config\.pbtxt:4:\d+: .*TYPE_FLOAT32/);
  });

  it('prints JSON with --json', async () => {
    const { code, out } = await cli(repo(CONFIG.replace('dims: [ 2 ]', 'dims: [ 5 ]')), '--json');
    expect(code).toBe(1);
    const report = JSON.parse(out);
    expect(report.ok).toBe(false);
    expect(report.models).toEqual(['linear']);
    expect(report.problems).toEqual([{ model: 'linear', path: 'output[0].dims', message: expect.stringContaining("tensor 'y'") }]);
  });

  it('exits 2 on usage errors', async () => {
    expect((await cli()).code).toBe(2);
    expect((await cli('a', 'b')).code).toBe(2);
    const unknown = await cli(repo(), '--strict');
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('unknown option --strict');
    const missing = await cli('/nonexistent/repo');
    expect(missing).toEqual({ code: 2, out: '', err: 'nx-triton validate: /nonexistent/repo: not a directory\n' });
  });

  it('--triton-release checks every plan header against the TensorRT that release ships', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'nx-triton-validate-'));
    cleanup.push(() => rmSync(tmp, { recursive: true, force: true }));
    const plan = join(tmp, 'model.plan');
    const onnx = resolve(__dirname, '../lib/engine/__fixtures__/relu_batch.onnx');
    execFileSync(STAND_IN_TRTEXEC, [`--onnx=${onnx}`, `--saveEngine=${plan}`, '--skipInference'], { env: standInEnv({ trtVersion: '10.3.0' }) });
    const config = 'name: "trt"\nplatform: "tensorrt_plan"\nmax_batch_size: 8\ninput [ { name: "x" data_type: TYPE_FP32 dims: [ 4 ] } ]\noutput [ { name: "y" data_type: TYPE_FP32 dims: [ 4 ] } ]\n';
    const r = tempRepo({ 'trt/config.pbtxt': config, 'trt/1/model.plan': { copy: plan } });
    cleanup.push(r.done);
    expect(await cli(r.dir, '--triton-release', '24.08')).toEqual({ code: 0, out: 'ok: 1 model\n', err: '' });
    const bad = await cli(r.dir, '--triton-release=24.09');
    expect(bad.code).toBe(1);
    expect(bad.out).toBe(
      'trt/config.pbtxt: 1/model.plan: Triton 24.09 serves plans of TensorRT 10.4.0; this plan was built by TensorRT 10.3.0 ' +
        '(a plan built version-compatible by an older TensorRT of the same major still loads)\n',
    );
    expect((await cli(r.dir, '--triton-release', '24.13')).err).toMatch(/^nx-triton validate: --triton-release: "24\.13" is not a Triton release nx-triton knows/);
    expect(await cli(r.dir)).toEqual({ code: 0, out: 'ok: 1 model\n', err: '' });
  });

  it('--triton-release checks every ONNX model\'s IR version and opsets against the ONNX Runtime that release ships: one line per model', async () => {
    const r = tempRepo({
      'dynamo/config.pbtxt': CONFIG.replace('"linear"', '"dynamo"'),
      'dynamo/1/model.onnx': stampedOnnx(LINEAR_ONNX, 10, { '': 18 }),
      'linear/config.pbtxt': CONFIG,
      'linear/1/model.onnx': { copy: LINEAR_ONNX },
      'new_opset/config.pbtxt': CONFIG.replace('"linear"', '"new_opset"'),
      'new_opset/1/model.onnx': stampedOnnx(LINEAR_ONNX, 9, { '': 20 }),
    });
    cleanup.push(r.done);
    expect(await cli(r.dir)).toEqual({ code: 0, out: 'ok: 3 models\n', err: '' });
    expect(await cli(r.dir, '--triton-release', '24.05')).toEqual({ code: 0, out: 'ok: 3 models\n', err: '' });
    const bad = await cli(r.dir, '--triton-release', '24.01');
    expect(bad.code).toBe(1);
    expect(bad.out.split('\n')).toEqual([
      'dynamo/config.pbtxt: 1/model.onnx: ONNX IR 10, opset 18: Triton 24.01 ships ONNX Runtime 1.16.3, which loads IR 9, opset 19 at most; ' +
        "re-export it with IR 9 or lower: torch's dynamo exporter writes IR 10 at any opset, its TorchScript-based one fits at opset 19 or lower " +
        '(export.torch.exporter: torchscript, export.torch.opset: 19); or serve it with Triton 24.05 or newer (ONNX Runtime 1.18.0)',
      'new_opset/config.pbtxt: 1/model.onnx: ONNX IR 9, opset 20: Triton 24.01 ships ONNX Runtime 1.16.3, which loads IR 9, opset 19 at most; ' +
        're-export it at opset 19 or lower (export.torch.opset: 19); or serve it with Triton 24.03 or newer (ONNX Runtime 1.17.2)',
      '',
    ]);
    expect(bad.err).toBe('2 problems in 2 of 3 models\n');
  });
});
