import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { modelConfigType } from '../../proto/model-config';
import { configsEqual, parsePbtxt, toPbtxt } from '../../proto/text-format';
import { SpecError } from '../errors';
import { DISPLAY, FULL, makeProject } from './__fixtures__/project';
import { loadSpec, parseSpec } from './load';

let project: ReturnType<typeof makeProject>;
beforeAll(() => {
  project = makeProject();
});
afterAll(() => project.cleanup());

function problems(text: string | Uint8Array): string[] {
  try {
    parseSpec(text, DISPLAY, project.dir);
  } catch (err) {
    if (err instanceof SpecError) {
      for (const d of err.diagnostics) expect(d.file).toBe(DISPLAY);
      return err.message.split('\n');
    }
    throw err;
  }
  throw new Error('expected a SpecError');
}


describe('parseSpec on a good spec', () => {
  test('loads every section into the ModelSpec', () => {
    const spec = parseSpec(FULL, DISPLAY, project.dir);
    expect(spec.file).toBe(DISPLAY);
    expect(spec.dir).toBe(project.dir);
    expect(spec.name).toBe('my_nn');
    expect(spec.version).toBe(3);
    expect(spec.previousVersions).toEqual({ '1': 'old/v1', '2': 'old/v2' });
    expect(spec.from).toBeUndefined();
    expect(spec.tensorrt).toBeUndefined();
    expect(spec.export).toEqual({
      torch: {
        model: 'net:build',
        kwargs: { hidden: 128, layers: [1, 2], label: 'x', dropout: 0.5, act: null },
        checkpoint: 'weights/nn.pt',
        input_shapes: { input: [null, 3, 224, 224] },
        output_names: ['logits'],
        opset: 17,
      },
    });
    expect(spec.config).toEqual({
      name: 'my_nn',
      platform: 'onnxruntime_onnx',
      max_batch_size: 64,
      instance_group: [{ kind: 'KIND_GPU', count: 4, gpus: [0, 1] }, { kind: 'KIND_CPU' }],
      input: [{ name: 'input', data_type: 'TYPE_FP32', format: 'FORMAT_NCHW', dims: [3, 224, 224] }],
      output: [{ name: 'logits', data_type: 'TYPE_FP16', dims: [-1], label_filename: 'labels.txt' }],
      dynamic_batching: {
        preferred_batch_size: [8, 16],
        max_queue_delay_microseconds: '18446744073709551615',
        priority_queue_policy: { '1': { timeout_action: 'DELAY', default_timeout_microseconds: 100 } },
        default_queue_policy: {},
      },
      version_policy: { all: {} },
      optimization: {
        execution_accelerators: {
          gpu_execution_accelerator: [{ name: 'tensorrt', parameters: { precision_mode: 'FP16' } }],
        },
      },
      parameters: { EXECUTION_ENV_PATH: { string_value: '$$TRITON_MODEL_DIRECTORY/env.tar.gz' } },
      cc_model_filenames: { '8.0': 'model_80.onnx' },
      model_warmup: [
        { name: 'w', batch_size: 1, inputs: { input: { data_type: 'TYPE_FP32', dims: [3, 224, 224], zero_data: true } } },
      ],
    });
    expect(Object.keys(spec.config)[0]).toBe('name');
  });

  test('spec.config is a ModelConfig that protobufjs takes as it is', () => {
    const type = modelConfigType();
    const message = type.fromObject(parseSpec(FULL, DISPLAY, project.dir).config);
    const back = type.toObject(message, { enums: String, longs: String }) as Record<string, any>;
    expect(back.dynamic_batching.max_queue_delay_microseconds).toBe('18446744073709551615');
    expect(back.dynamic_batching.default_queue_policy).toEqual({});
    expect(back.version_policy).toEqual({ all: {} });
    expect(back.input[0].format).toBe('FORMAT_NCHW');
  });

  test('records where every key path was written', () => {
    const { positions } = parseSpec(FULL, DISPLAY, project.dir);
    expect(positions['platform']).toEqual({ line: 2, col: 1 });
    expect(positions['previous_versions["1"]']).toEqual({ line: 6, col: 3 });
    expect(positions['instance_group[0]']).toEqual({ line: 9, col: 5 });
    expect(positions['instance_group[0].count']).toEqual({ line: 9, col: 18 });
    expect(positions['instance_group[1].kind']).toEqual({ line: 10, col: 5 });
    expect(positions['input[0].dims']).toEqual({ line: 15, col: 5 });
    expect(positions['input[0].dims[2]']).toEqual({ line: 15, col: 20 });
    expect(positions['dynamic_batching.priority_queue_policy["1"].timeout_action']).toEqual({ line: 25, col: 10 });
    expect(positions['export.torch.model']).toEqual({ line: 43, col: 5 });
    expect(positions['export.torch.input_shapes.input[0]']).toEqual({ line: 46, col: 29 });
  });

  test('a TensorRT model made from an ONNX model, with engine options', () => {
    const spec = parseSpec(
      `name: my_trt
platform: tensorrt_plan
max_batch_size: 8
from: my_nn
tensorrt:
  precision: FP16
  workspace: 4GiB
  profiles:
    - input: { min: [1, 3], opt: [4, 3], max: [8, 3] }
  builder_optimization_level: 5
  hardware_compatibility: ampere+
  version_compatible: true
  targets: [8.0, "8.6", 9.0]
  builders: [https://gpu-a100.example.com:8000, http://10.0.0.5:8000/]
  trtexec: /opt/tensorrt/bin/trtexec
  timing_cache: false
`,
      DISPLAY,
      project.dir,
    );
    expect(spec.name).toBe('my_trt');
    expect(spec.config).toEqual({ name: 'my_trt', platform: 'tensorrt_plan', max_batch_size: 8 });
    expect(spec.from).toBe('my_nn');
    expect(spec.export).toBeUndefined();
    expect(spec.tensorrt).toEqual({
      precision: 'fp16',
      workspace: '4GiB',
      profiles: [{ input: { min: [1, 3], opt: [4, 3], max: [8, 3] } }],
      builder_optimization_level: 5,
      hardware_compatibility: 'ampere+',
      version_compatible: true,
      targets: ['8.0', '8.6', '9.0'],
      builders: ['https://gpu-a100.example.com:8000', 'http://10.0.0.5:8000/'],
      trtexec: '/opt/tensorrt/bin/trtexec',
      timing_cache: false,
    });
  });

  test('export.command and export.file; numbers in argv are taken as written', () => {
    const cmd = parseSpec('export:\n  command: [python, train.py, --epochs, 3, --out, "{output}"]\n', DISPLAY, project.dir);
    expect(cmd.export).toEqual({ command: ['python', 'train.py', '--epochs', '3', '--out', '{output}'] });
    const file = parseSpec('export: { file: model.onnx }\n', DISPLAY, project.dir);
    expect(file.export).toEqual({ file: 'model.onnx' });
    expect(file.version).toBe(1);
    expect(file.previousVersions).toEqual({});
  });

  test('empty messages stay present as {}; null for a message field is an empty message', () => {
    const spec = parseSpec('dynamic_batching:\nversion_policy: { all: ~ }\nmodel_transaction_policy: {}\n', DISPLAY, project.dir);
    expect(spec.config).toEqual({ name: 'my_nn', dynamic_batching: {}, version_policy: { all: {} }, model_transaction_policy: {} });
  });

  test('int64 values are exact: numbers when safe, decimal strings beyond 2^53', () => {
    const spec = parseSpec(
      'input: [{ name: x, data_type: int64, dims: [-1, 9007199254740993, 9223372036854775807, 0x10] }]\n',
      DISPLAY,
      project.dir,
    );
    expect(spec.config.input?.[0].dims).toEqual([-1, '9007199254740993', '9223372036854775807', 16]);
  });

  test('a BOM and a Buffer are accepted; checkFiles: false skips existence checks', () => {
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('max_batch_size: 2\nexport: { file: later.onnx }\n')]);
    const spec = parseSpec(bytes, DISPLAY, project.dir, { checkFiles: false });
    expect(spec.config.max_batch_size).toBe(2);
    expect(spec.export).toEqual({ file: 'later.onnx' });
  });

  // Issue 22, F9: a map key is any string in Triton's config (protobuf map<string, ModelParameter>), "__proto__" too.
  test('a parameters key named __proto__, constructor or toString is kept and written to config.pbtxt', () => {
    const spec = parseSpec('backend: python\nparameters:\n  __proto__: { string_value: a }\n  constructor: { string_value: b }\n  toString: { string_value: c }\n', DISPLAY, project.dir);
    const parameters = spec.config.parameters as Record<string, unknown>;
    expect(Object.keys(parameters)).toEqual(['__proto__', 'constructor', 'toString']);
    expect(Object.getPrototypeOf(parameters)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(parameters, '__proto__')?.value).toEqual({ string_value: 'a' });
    const text = toPbtxt(spec.config);
    expect(text).toContain('parameters {\n  key: "__proto__"\n  value {\n    string_value: "a"\n  }\n}\n');
    const back = parsePbtxt(text, 'config.pbtxt');
    expect(Object.keys(back.parameters ?? {})).toEqual(['__proto__', 'constructor', 'toString']);
    expect(configsEqual(back, spec.config)).toBe(true);
  });

  test('Object.prototype names are no enum values and no fields in config.pbtxt either', () => {
    expect(() => parsePbtxt('instance_group [ { kind: constructor } ]', 'c')).toThrow('Unknown enumeration value of "constructor" for field "kind".');
    expect(() => parsePbtxt('toString: 1', 'c')).toThrow('Message type "inference.ModelConfig" has no field named "toString".');
    expect(() => toPbtxt({ instance_group: [{ kind: 'constructor' as never }] })).toThrow('unknown value "constructor"');
    expect(() => toPbtxt(JSON.parse('{"toString": 1}'))).toThrow('has no field named "toString"');
  });

  test('loadSpec reads from disk and names the file by displayPath', () => {
    const file = join(project.dir, 'triton.yaml');
    writeFileSync(file, 'platform: onnxruntime_onnx\nmax_batch_size: -3x\n');
    const spec = (() => {
      try {
        return loadSpec(file, { displayPath: DISPLAY });
      } catch (err) {
        return err;
      }
    })();
    expect(spec).toBeInstanceOf(SpecError);
    expect((spec as SpecError).message).toBe(`${DISPLAY}:2:1: max_batch_size: expected an integer, got string "-3x"`);
    writeFileSync(file, 'platform: onnxruntime_onnx\n');
    const ok = loadSpec(file, { displayPath: DISPLAY });
    expect(ok.name).toBe('my_nn');
    expect(ok.file).toBe(DISPLAY);
    expect(() => loadSpec(join(project.dir, 'nope.yaml'), { displayPath: 'models/my_nn/nope.yaml' })).toThrow(
      new SpecError([{ file: 'models/my_nn/nope.yaml', path: '', message: 'cannot read the file (no such file)' }]),
    );
  });
});

const DATA_TYPES =
  'TYPE_INVALID, TYPE_BOOL, TYPE_UINT8, TYPE_UINT16, TYPE_UINT32, TYPE_UINT64, TYPE_INT8, TYPE_INT16, TYPE_INT32, ' +
  'TYPE_INT64, TYPE_FP16, TYPE_FP32, TYPE_FP64, TYPE_STRING, TYPE_BF16 or invalid, bool, uint8, uint16, uint32, ' +
  'uint64, int8, int16, int32, int64, fp16, fp32, fp64, string, bf16';

const F = DISPLAY;

// [what, triton.yaml, the one message line expected]
const BAD: Array<[string, string, string]> = [
  [
    'unknown enum value (the message of the design)',
    'platform: onnxruntime_onnx\nmax_batch_size: 64\nexport:\n  file: model.onnx\ninstance_group:\n  - count: 4\n    kind: gpuu\n',
    `${F}:7:5: instance_group[0].kind: unknown value "gpuu" (expected one of KIND_AUTO, KIND_GPU, KIND_CPU, KIND_MODEL or auto, gpu, cpu, model)`,
  ],
  ['misspelt key', 'max_batchsize: 8\n', `${F}:1:1: max_batchsize: unknown key "max_batchsize" (did you mean "max_batch_size"?)`],
  ['camelCase key', 'platform: onnxruntime_onnx\nmaxBatchSize: 8\n', `${F}:2:1: maxBatchSize: unknown key "maxBatchSize" (did you mean "max_batch_size"?)`],
  ['nested unknown key', 'instance_group: [{kindd: gpu}]\n', `${F}:1:19: instance_group[0].kindd: unknown key "kindd" (did you mean "kind"?)`],
  ['unknown key, nothing close', 'zzz_qqq: 1\n', `${F}:1:1: zzz_qqq: unknown key "zzz_qqq"`],
  ['bool as yes', 'dynamic_batching:\n  preserve_ordering: yes\n', `${F}:2:3: dynamic_batching.preserve_ordering: expected true or false, got string "yes"`],
  ['number for a string', 'backend: 12\n', `${F}:1:1: backend: expected a string, got number 12 (quote it: "12")`],
  ['null for a string', 'platform:\n', `${F}:1:1: platform: expected a string, got null`],
  ['int32 overflow', 'max_batch_size: 3000000000\n', `${F}:1:1: max_batch_size: 3000000000 is out of range for int32 (-2147483648 to 2147483647)`],
  [
    'negative uint64',
    'dynamic_batching: { max_queue_delay_microseconds: -1 }\n',
    `${F}:1:21: dynamic_batching.max_queue_delay_microseconds: -1 is out of range for uint64 (0 to 18446744073709551615)`,
  ],
  ['fraction for an integer', 'max_batch_size: 1.5\n', `${F}:1:1: max_batch_size: expected an integer, got number 1.5`],
  [
    'inexact large integer',
    'input: [{ name: x, data_type: fp32, dims: [1e20] }]\n',
    `${F}:1:44: input[0].dims[0]: 1e20 is not exact: write a large integer with all its digits`,
  ],
  [
    'scalar where a list is needed',
    'input:\n  - name: x\n    dims: 8\n',
    `${F}:3:5: input[0].dims: expected a list, got number 8 (write [8] for a single item)`,
  ],
  [
    'map key of the wrong type',
    'dynamic_batching:\n  priority_queue_policy:\n    high: {}\n',
    `${F}:3:5: dynamic_batching.priority_queue_policy.high: map key "high" must be an integer (uint64)`,
  ],
  [
    'two members of a oneof',
    'version_policy:\n  all: {}\n  latest: { num_versions: 2 }\n',
    `${F}:3:3: version_policy.latest: "all" and "latest" cannot both be set: they are alternatives of oneof policy_choice`,
  ],
  [
    'two schedulers',
    'dynamic_batching: {}\nsequence_batching: {}\n',
    `${F}:2:1: sequence_batching: "dynamic_batching" and "sequence_batching" cannot both be set: they are alternatives of oneof scheduling_choice`,
  ],
  ['unknown data type', 'output:\n  - name: y\n    data_type: fp33\n', `${F}:3:5: output[0].data_type: unknown value "fp33" (expected one of ${DATA_TYPES})`],
  [
    'a number for an enum',
    'instance_group: [{ kind: 1 }]\n',
    `${F}:1:20: instance_group[0].kind: expected one of KIND_AUTO, KIND_GPU, KIND_CPU, KIND_MODEL, got number 1`,
  ],
  [
    'an infinite float',
    'sequence_batching: { direct: { minimum_slot_utilization: .inf } }\n',
    `${F}:1:32: sequence_batching.direct.minimum_slot_utilization: expected a finite number, got number .inf`,
  ],
  ['a list for a message', 'dynamic_batching: [8, 16]\n', `${F}:1:1: dynamic_batching: expected a map, got a list`],
  ['version 0', 'version: 0\n', `${F}:1:1: version: expected a positive integer, got number 0`],
  [
    'previous version with a leading zero',
    'previous_versions: { "01": old/v1 }\n',
    `${F}:1:22: previous_versions["01"]: version "01" must be a positive integer without leading zeros`,
  ],
  [
    'previous version equal to version',
    'previous_versions:\n  1: old/v1\n',
    `${F}:2:3: previous_versions["1"]: version 1 is the version this project builds (version: 1); pick another number`,
  ],
  ['previous version outside the project', 'previous_versions:\n  2: ../other\n', `${F}:2:3: previous_versions["2"]: "../other" leads outside the project directory`],
  [
    'previous version at an absolute path',
    'previous_versions:\n  2: /etc\n',
    `${F}:2:3: previous_versions["2"]: "/etc" must be a path relative to the project directory, not an absolute path`,
  ],
  [
    'previous version missing',
    'previous_versions:\n  2: old/v9\n',
    `${F}:2:3: previous_versions["2"]: "old/v9" does not exist (expected a directory in the project directory)`,
  ],
  ['previous version is a file', 'previous_versions:\n  2: weights/nn.pt\n', `${F}:2:3: previous_versions["2"]: "weights/nn.pt" is not a directory`],
  [
    'export.command as a shell string',
    'export:\n  command: python export.py --out model.onnx\n',
    `${F}:2:3: export.command: must be a list of arguments (argv), not a shell string`,
  ],
  ['export.command empty', 'export:\n  command: []\n', `${F}:2:3: export.command: export.command needs at least the program to run`],
  [
    'two export sources',
    'export:\n  torch: { model: "net:build" }\n  command: [python, x.py]\n',
    `${F}:3:3: export.command: export takes exactly one of torch, command, file; "torch" is already set`,
  ],
  ['no export source', 'export: {}\n', `${F}:1:1: export: export needs one of torch, command, file`],
  ['unknown export source', 'export:\n  files: model.onnx\n', `${F}:2:3: export.files: unknown key "files" (did you mean "file"?)`],
  ['export.file missing', 'export:\n  file: model.plan\n', `${F}:2:3: export.file: "model.plan" does not exist (expected a file or directory in the project directory)`],
  [
    'torch model not module:callable',
    'export:\n  torch:\n    model: net.build\n',
    `${F}:3:5: export.torch.model: expected "python.module:callable" (e.g. "net:build"), got "net.build"`,
  ],
  ['torch without model', 'export:\n  torch:\n    opset: 17\n', `${F}:2:3: export.torch: export.torch needs model: "python.module:callable"`],
  [
    'misspelt torch key',
    'export:\n  torch:\n    model: net:build\n    checkpont: weights/nn.pt\n',
    `${F}:4:5: export.torch.checkpont: unknown key "checkpont" (did you mean "checkpoint"?)`,
  ],
  [
    'checkpoint missing',
    'export:\n  torch:\n    model: net:build\n    checkpoint: weights/missing.pt\n',
    `${F}:4:5: export.torch.checkpoint: "weights/missing.pt" does not exist (expected a file in the project directory)`,
  ],
  ['opset out of range', 'export:\n  torch: { model: "net:build", opset: 30 }\n', `${F}:2:32: export.torch.opset: expected an ONNX opset from 7 to 21, got number 30`],
  [
    'zero dim in input_shapes',
    'export:\n  torch: { model: "net:build", input_shapes: { x: [null, 0] } }\n',
    `${F}:2:58: export.torch.input_shapes.x[1]: expected a positive integer or null (a dynamic dim), got number 0`,
  ],
  [
    'TensorRT model without a source',
    'platform: tensorrt_plan\nmax_batch_size: 8\n',
    `${F}:1:1: platform: a TensorRT model needs an ONNX source: set from: <onnx model> or export:`,
  ],
  ['from itself', 'from: my_nn\n', `${F}:1:1: from: a model cannot be built from itself ("my_nn")`],
  [
    'export and from together',
    'export: { file: model.onnx }\nfrom: other\n',
    `${F}:2:1: from: export and from cannot both be set: the model file comes from one or the other`,
  ],
  ['from that is not a model name', 'from: ../x\n', `${F}:1:1: from: a model name cannot contain "/" or "\\" (got "../x")`],
  [
    'unknown precision',
    'tensorrt: { precision: fp17 }\n',
    `${F}:1:13: tensorrt.precision: unknown precision "fp17" (expected one of fp32, fp16, bf16, int8, fp8, int4, best) (did you mean "fp16"?)`,
  ],
  [
    'bad workspace',
    'tensorrt:\n  workspace: 4 gigs\n',
    `${F}:2:3: tensorrt.workspace: expected a size in MiB or a string such as "4GiB" or "512MiB", got string "4 gigs"`,
  ],
  ['optimization level out of range', 'tensorrt:\n  builder_optimization_level: 7\n', `${F}:2:3: tensorrt.builder_optimization_level: expected an integer from 0 to 5, got number 7`],
  [
    'unknown hardware compatibility',
    'tensorrt:\n  hardware_compatibility: ampere\n',
    `${F}:2:3: tensorrt.hardware_compatibility: unknown value "ampere" (expected one of none, ampere+, same_compute_capability)`,
  ],
  ['bad target', 'tensorrt:\n  targets: [sm_80]\n', `${F}:2:13: tensorrt.targets[0]: expected a compute capability "major.minor" such as "8.6", got string "sm_80"`],
  ['builder that is not http', 'tensorrt:\n  builders: ["ftp://x"]\n', `${F}:2:14: tensorrt.builders[0]: expected an http:// or https:// URL, got "ftp://x"`],
  [
    'profile with min above max',
    'tensorrt:\n  profiles:\n    - x: { min: [1, 9], opt: [2, 9], max: [4, 8] }\n',
    `${F}:3:7: tensorrt.profiles[0].x: dim 1: expected min <= opt <= max, got 9, 9, 8`,
  ],
  ['misspelt tensorrt key', 'tensorrt:\n  timing_cash: true\n', `${F}:2:3: tensorrt.timing_cash: unknown key "timing_cash" (did you mean "timing_cache"?)`],
  ['name with a slash', 'name: a/b\n', `${F}:1:1: name: a model name cannot contain "/" or "\\" (got "a/b")`],
  ['name with leading space', 'name: " x"\n', `${F}:1:1: name: a model name cannot start or end with whitespace (got " x")`],
  ['name ..', 'name: ".."\n', `${F}:1:1: name: a model name cannot be ".."`],
  ['top level not a map', '- platform: onnxruntime_onnx\n', `${F}:1:1: the top level must be a map of keys, got a list`],
  ['empty file', '# nothing\n', `${F}:1:1: the file is empty: expected keys such as "platform: onnxruntime_onnx"`],
  [
    'YAML syntax error',
    'platform: onnxruntime_onnx\ninput: [ { name: x }\n',
    `${F}:3:1: YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ]`,
  ],
  ['a binary value', 'platform: !!binary aGVsbG8=\n', `${F}:1:1: platform: expected a string, got a value tagged tag:yaml.org,2002:binary`],
  ['an unknown YAML tag', 'platform: !python/object x\n', `${F}:1:11: YAML warning: Unresolved tag: !python/object`],
  ['two documents', 'platform: a\n---\nplatform: b\n', `${F}:2:1: YAML syntax error: Source contains multiple documents; please use YAML.parseAllDocuments()`],
];

describe('parseSpec on bad input: one exact line per problem', () => {
  test.each(BAD)('%s', (_what, text, expected) => {
    expect(problems(text)).toEqual([expected]);
  });

  test('there are many distinct cases', () => {
    expect(new Set(BAD.map((b) => b[2])).size).toBe(BAD.length);
    expect(BAD.length).toBeGreaterThanOrEqual(25);
  });
});

describe('several problems, YAML hazards', () => {
  test('every problem of a file is reported at once, in file order', () => {
    expect(
      problems(`max_batchsize: 8
platform: 3
instance_group:
  - kind: gpuu
    count: many
export:
  command: python x.py
tensorrt:
  precison: fp16
`),
    ).toEqual([
      `${F}:1:1: max_batchsize: unknown key "max_batchsize" (did you mean "max_batch_size"?)`,
      `${F}:2:1: platform: expected a string, got number 3 (quote it: "3")`,
      `${F}:4:5: instance_group[0].kind: unknown value "gpuu" (expected one of KIND_AUTO, KIND_GPU, KIND_CPU, KIND_MODEL or auto, gpu, cpu, model)`,
      `${F}:5:5: instance_group[0].count: expected an integer, got string "many"`,
      `${F}:7:3: export.command: must be a list of arguments (argv), not a shell string`,
      `${F}:9:3: tensorrt.precison: unknown key "precison" (did you mean "precision"?)`,
    ]);
  });

  test('duplicate keys name both lines, at any depth', () => {
    expect(problems('max_batch_size: 1\nplatform: onnxruntime_onnx\nmax_batch_size: 2\ndynamic_batching:\n  preserve_ordering: true\n  preserve_ordering: false\n')).toEqual([
      `${F}:3:1: max_batch_size: duplicate key "max_batch_size" (first set at line 1)`,
      `${F}:6:3: dynamic_batching.preserve_ordering: duplicate key "preserve_ordering" (first set at line 5)`,
    ]);
  });

  test('a billion-laughs alias bomb is refused fast', () => {
    const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 10; i++) {
      const prev = String.fromCharCode(96 + i);
      const cur = String.fromCharCode(97 + i);
      levels.push(`${cur}: &${cur} [${Array(9).fill(`*${prev}`).join(',')}]`);
    }
    const start = performance.now();
    expect(problems(`export:\n  torch:\n    model: net:build\n    kwargs:\n      ${levels.join('\n      ')}\n`)).toEqual([
      `${F}:6:14: too many YAML aliases: the file would expand to a huge document (an alias bomb?)`,
    ]);
    expect(performance.now() - start).toBeLessThan(1000);
  });

  test('a few aliases are fine', () => {
    const spec = parseSpec('input:\n  - &x { name: a, data_type: fp32, dims: [1] }\noutput:\n  - *x\n', DISPLAY, project.dir);
    expect(spec.config.output).toEqual([{ name: 'a', data_type: 'TYPE_FP32', dims: [1] }]);
  });

  test('a self-referencing alias ends with an error', () => {
    expect(problems('export:\n  torch:\n    model: net:build\n    kwargs: { a: &x [*x, *x] }\n')).toEqual([
      `${F}:4:22: an alias refers to a node that contains it (an endless value)`,
    ]);
  });

  test('past 50 problems the walk stops', () => {
    const lines = problems(Array.from({ length: 80 }, (_, i) => `bad_key_${i}: 1`).join('\n'));
    expect(lines).toHaveLength(51);
    expect(lines[50]).toBe(`${F}:51:1: more than 50 problems; stopping here`);
  });

  test('bytes that are not UTF-8 are refused with their place', () => {
    const bytes = Buffer.concat([Buffer.from('platform: onnxruntime_onnx\nname: ab'), Buffer.from([0xff, 0xfe]), Buffer.from('\n')]);
    expect(problems(bytes)).toEqual([`${F}:2:9: the file is not UTF-8 text (invalid byte 0xff at offset 35)`]);
  });

  test('a file over 1 MiB is refused before parsing', () => {
    const big = `platform: onnxruntime_onnx\n${'# padding\n'.repeat(110_000)}`;
    expect(problems(big)).toEqual([`${F}:1:1: the file is ${Buffer.byteLength(big)} bytes; a triton.yaml may be at most 1048576 bytes (1 MiB)`]);
  });

  // Issue 22, F9: names of Object.prototype are not fields of ModelConfig: an unknown key, as any other.
  test.each(['constructor', 'toString', 'hasOwnProperty', '__proto__'])('a top-level key %j is an unknown key, not "unsupported field type"', (key) => {
    expect(problems(`platform: onnxruntime_onnx\n${key}: 1\n`)).toEqual([expect.stringMatching(new RegExp(`^${F}:2:1: ${key}: unknown key`))]);
  });

  test('deep nesting is an error, not a crash', () => {
    const deep = `export:\n  torch:\n    model: net:build\n    kwargs: { a: ${'['.repeat(5000)}${']'.repeat(5000)} }\n`;
    const lines = problems(deep);
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) expect(l).toMatch(/^models\/my_nn\/triton\.yaml:\d+:\d+: /);
  });

  test('a link that leads outside the project is refused', () => {
    mkdirSync(join(project.root, 'outside'), { recursive: true });
    symlinkSync(join(project.root, 'outside'), join(project.dir, 'escape'));
    expect(problems('previous_versions: { 2: escape }\n')).toEqual([
      `${F}:1:22: previous_versions["2"]: "escape" resolves (through a link) to a place outside the project directory`,
    ]);
  });
});
