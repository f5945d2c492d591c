import * as protobuf from 'protobufjs';
import { toText } from 'protobufjs/ext/textformat.js';
import { describe, expect, it } from 'vitest';
import { SpecError } from '../lib/errors';
import type { DataType, ModelConfig } from '../lib/model-config';
import { protocDecode, protocEncode, protocParse } from '../test/protoc';
import { modelConfigType } from './model-config';
import {
  canonicalConfig,
  canonicalConfigBytes,
  canonicalFloat32,
  configFromMessage,
  configsEqual,
  parsePbtxt,
  toPbtxt,
} from './text-format';

const onnxDynamic: ModelConfig = {
  name: 'resnet50',
  platform: 'onnxruntime_onnx',
  max_batch_size: 64,
  input: [{ name: 'input', data_type: 'TYPE_FP32', format: 'FORMAT_NCHW', dims: [3, 224, 224] }],
  output: [{ name: 'logits', data_type: 'TYPE_FP32', dims: [1000], label_filename: 'labels.txt' }],
  instance_group: [{ kind: 'KIND_GPU', count: 4, gpus: [0, 1] }, { kind: 'KIND_CPU', count: 2 }],
  dynamic_batching: { preferred_batch_size: [8, 16], max_queue_delay_microseconds: 100 },
  optimization: {
    execution_accelerators: {
      gpu_execution_accelerator: [
        { name: 'tensorrt', parameters: { precision_mode: 'FP16', max_workspace_size_bytes: '1073741824' } },
      ],
    },
    input_pinned_memory: { enable: true },
  },
  version_policy: { all: {} },
};

const ensemble: ModelConfig = {
  name: 'pipeline',
  platform: 'ensemble',
  max_batch_size: 8,
  input: [{ name: 'RAW', data_type: 'TYPE_STRING', dims: [1] }],
  output: [{ name: 'SCORES', data_type: 'TYPE_FP32', dims: [-1, 10] }],
  ensemble_scheduling: {
    step: [
      { model_name: 'preprocess', model_version: -1, input_map: { TEXT: 'RAW' }, output_map: { IDS: 'ids', MASK: 'mask' } },
      { model_name: 'bert', model_version: 3, input_map: { input_ids: 'ids', attention_mask: 'mask' }, output_map: { logits: 'SCORES' } },
    ],
  },
};

const sequence: ModelConfig = {
  name: 'stateful',
  backend: 'onnxruntime',
  max_batch_size: 4,
  sequence_batching: {
    max_sequence_idle_microseconds: 5_000_000,
    oldest: { max_candidate_sequences: 4, preferred_batch_size: [2, 4], max_queue_delay_microseconds: 300 },
    control_input: [
      { name: 'START', control: [{ kind: 'CONTROL_SEQUENCE_START', fp32_false_true: [0, 1] }] },
      { name: 'READY', control: [{ kind: 'CONTROL_SEQUENCE_READY', int32_false_true: [0, 1] }] },
      { name: 'CORRID', control: [{ kind: 'CONTROL_SEQUENCE_CORRID', data_type: 'TYPE_UINT64' }] },
      { name: 'SCALE', control: [{ kind: 'CONTROL_SEQUENCE_START', fp32_false_true: [0.1, 2.5] }] },
    ],
    state: [
      {
        input_name: 'STATE_IN',
        output_name: 'STATE_OUT',
        data_type: 'TYPE_FP32',
        dims: [-1, 128],
        initial_state: [{ name: 'zeros', data_type: 'TYPE_FP32', dims: [128], zero_data: false }],
      },
    ],
  },
  parameters: {
    execution_mode: { string_value: 'sequential' },
    intra_op_thread_count: { string_value: '4' },
  },
  model_warmup: [
    {
      name: 'warm',
      batch_size: 2,
      count: 3,
      inputs: {
        INPUT0: { data_type: 'TYPE_FP32', dims: [16], random_data: true },
        INPUT1: { data_type: 'TYPE_INT64', dims: [1], input_data_file: 'raw_input1' },
        INPUT2: { data_type: 'TYPE_BOOL', dims: [1], zero_data: true },
      },
    },
  ],
  version_policy: { specific: { versions: [1, 3, '9007199254740993'] } },
  model_metrics: { metric_control: [{ metric_identifier: { family: 'nv_inference_first_response_histogram_ms' }, histogram_options: { buckets: [0.1, 1.5, 1e-300, 1e300] } }] },
};

const tensorrt: ModelConfig = {
  name: 'detector_trt',
  platform: 'tensorrt_plan',
  max_batch_size: 16,
  default_model_filename: 'model.plan',
  cc_model_filenames: { '8.9': 'model_sm89.plan', '8.0': 'model_sm80.plan', '9.0': 'model_sm90.plan' },
  metric_tags: { team: 'vision' },
  dynamic_batching: {
    priority_levels: 3,
    default_priority_level: 2,
    default_queue_policy: { timeout_action: 'DELAY', default_timeout_microseconds: 1000 },
    priority_queue_policy: {
      '1': { max_queue_size: 10, timeout_action: 'REJECT' },
      '18446744073709551615': { default_timeout_microseconds: '18446744073709551615', allow_timeout_override: true },
      '10': {},
    },
  },
  response_cache: { enable: true },
  model_transaction_policy: { decoupled: false },
};

const realistic: Record<string, ModelConfig> = { onnxDynamic, ensemble, sequence, tensorrt };

describe('toPbtxt', () => {
  it('prints empty sub-messages, which switch features on', () => {
    const text = toPbtxt({ name: 'm', dynamic_batching: {}, version_policy: { all: {} } });
    expect(text).toBe('name: "m"\nversion_policy {\n  all {\n  }\n}\ndynamic_batching {\n}\n');
    expect(protocDecode(protocEncode(text))).toBe(text);
  });

  it('writes enums by name, int64 as bare integers and 64-bit values exactly', () => {
    const text = toPbtxt(tensorrt);
    expect(text).toContain('key: 18446744073709551615');
    expect(text).toContain('default_timeout_microseconds: 18446744073709551615');
    expect(text).toContain('timeout_action: DELAY');
    expect(text).not.toMatch(/: "\d+"\n/);
  });

  it('is deterministic: equal messages give equal bytes, whatever the key order or number form', () => {
    const reordered: ModelConfig = {
      ...tensorrt,
      cc_model_filenames: { '9.0': 'model_sm90.plan', '8.0': 'model_sm80.plan', '8.9': 'model_sm89.plan' },
      max_batch_size: 16,
    };
    expect(toPbtxt(reordered)).toBe(toPbtxt(tensorrt));
    // A config read back from protoc's bytes (float32 values, Long integers) prints the same.
    const decoded = configFromMessage(modelConfigType().decode(protocEncode(toPbtxt(sequence))));
    expect(toPbtxt(decoded)).toBe(toPbtxt(sequence));
    expect(toPbtxt({ input: [{ name: 'x', dims: ['7'] as unknown as number[] }] })).toBe(toPbtxt({ input: [{ name: 'x', dims: [7] }] }));
  });

  it('prints a float32 field by its shortest decimal, which protoc reads back to the same float', () => {
    const text = toPbtxt({ sequence_batching: { control_input: [{ name: 'c', control: [{ fp32_false_true: [0.10000000149011612, 3.4028234663852886e38] }] }] } });
    expect(text).toContain('fp32_false_true: 0.1\n');
    expect(text).toContain('fp32_false_true: 3.4028235e+38\n');
    expect(canonicalFloat32(0.1)).toBe(0.1);
    expect(canonicalFloat32(1 / 3)).toBe(0.33333334);
  });

  it('rejects what would be silently dropped: unknown keys, unknown enum names, two oneof members', () => {
    // Objects no typed ModelConfig can be (YAML or JSON may still hold them).
    const unchecked = (v: object) => v as ModelConfig;
    expect(() => toPbtxt(unchecked({ nme: 'x' }))).toThrow('config.pbtxt: nme: Message type "inference.ModelConfig" has no field named "nme"');
    expect(() => toPbtxt(unchecked({ input: [{ name: 'x', data_type: 'TYPE_FP33' }] }), 'models/a/config.pbtxt')).toThrow(
      /^models\/a\/config\.pbtxt: input\[0\]\.data_type: unknown value "TYPE_FP33"/,
    );
    expect(() => toPbtxt({ dynamic_batching: {}, sequence_batching: {} })).toThrow(
      'Field "sequence_batching" is specified along with field "dynamic_batching", another member of oneof "scheduling_choice"',
    );
    expect(() => toPbtxt({ max_batch_size: 2 ** 31 })).toThrow(SpecError);
    expect(() => toPbtxt({ input: [{ name: 'x', dims: [1.5] }] })).toThrow('input[0].dims[0]: expected an integer');
    expect(() => toPbtxt({ dynamic_batching: { priority_queue_policy: { '-1': {} } } })).toThrow('integer out of range for uint64');
  });
});

describe('round trips through protoc (the parser Triton uses)', () => {
  for (const [name, config] of Object.entries(realistic)) {
    it(`${name}: our text -> protoc bytes equal protobufjs' bytes; protoc's text -> our parser -> the same message`, () => {
      const text = toPbtxt(config);
      const bytes = protocEncode(text);
      expect(configsEqual(configFromMessage(modelConfigType().decode(bytes)), config)).toBe(true);
      // protoc writes map entries in its own order: compare as messages after a protobufjs decode.
      expect(canonicalConfigBytes(configFromMessage(modelConfigType().decode(bytes)))).toEqual(canonicalConfigBytes(config));

      const protocText = protocDecode(canonicalConfigBytes(config));
      const parsed = parsePbtxt(protocText, `${name}/config.pbtxt`);
      expect(configsEqual(parsed, config)).toBe(true);
      expect(parsed).toEqual(canonicalConfig(config));
      expect(parsePbtxt(text, 'ours')).toEqual(parsed);
    });
  }

  it('parses into the ModelConfig shape: enum names, safe int64 as numbers, big ones as strings, {} kept', () => {
    const parsed = parsePbtxt(toPbtxt(sequence), 'c');
    expect(parsed.version_policy).toEqual({ specific: { versions: [1, 3, '9007199254740993'] } });
    const warm = (parsed.model_warmup as Array<{ inputs: Record<string, unknown> }>)[0].inputs;
    expect(warm.INPUT1).toEqual({ data_type: 'TYPE_INT64', dims: [1], input_data_file: 'raw_input1' });
    expect((parsed.sequence_batching as { state: Array<{ initial_state: unknown[] }> }).state[0].initial_state[0]).toEqual({
      name: 'zeros',
      data_type: 'TYPE_FP32',
      dims: [128],
      zero_data: false,
    });
    expect(parsePbtxt('dynamic_batching { }\nversion_policy: { all: {} }', 'c')).toEqual({ dynamic_batching: {}, version_policy: { all: {} } });
    const trt = parsePbtxt(toPbtxt(tensorrt), 'c');
    expect(Object.keys((trt.dynamic_batching as { priority_queue_policy: object }).priority_queue_policy).sort()).toEqual([
      '1',
      '10',
      '18446744073709551615',
    ]);
  });

  it('reads the text-format variants Triton users write', () => {
    const text = [
      '# comment',
      "name: 'm' platform: \"onnx\" \"runtime_onnx\";",
      'max_batch_size: 0x10,',
      'input [ { name: "a", data_type: TYPE_FP32, dims: [ -1, 3 ] }, < name: "b" dims: 1 dims: 2 > ]',
      'instance_group { kind: KIND_GPU count: 2 }',
      'dynamic_batching: { preserve_ordering: t max_queue_delay_microseconds: 010 }',
    ].join('\n');
    const ours = parsePbtxt(text, 'c');
    expect(ours).toEqual({
      name: 'm',
      platform: 'onnxruntime_onnx',
      max_batch_size: 16,
      input: [
        { name: 'a', data_type: 'TYPE_FP32', dims: [-1, 3] },
        { name: 'b', dims: [1, 2] },
      ],
      instance_group: [{ kind: 'KIND_GPU', count: 2 }],
      dynamic_batching: { preserve_ordering: true, max_queue_delay_microseconds: 8 },
    });
    expect(configsEqual(configFromMessage(modelConfigType().decode(protocEncode(text))), ours)).toBe(true);
  });
});

describe('parsePbtxt errors match protoc', () => {
  const bad: Array<[string, string, string]> = [
    // text, our message (protoc's wording), line:col
    ['x: 1', 'x: Message type "inference.ModelConfig" has no field named "x".', '1:1'],
    ['name: "a"\nname: "b"', 'name: Non-repeated field "name" is specified multiple times.', '2:1'],
    ['dynamic_batching {}\nsequence_batching {}', 'Field "sequence_batching" is specified along with field "dynamic_batching", another member of oneof "scheduling_choice".', '2:1'],
    ['version_policy { all {} latest {} }', 'version_policy.latest: Field "latest" is specified along with field "all", another member of oneof "policy_choice".', '1:25'],
    ['cc_model_filenames { key: "a" key: "b" value: "c" }', 'cc_model_filenames[0].key: Non-repeated field "key" is specified multiple times.', '1:31'],
    ['cc_model_filenames { key: "a" x: "b" }', 'Message type "inference.ModelConfig.CcModelFilenamesEntry" has no field named "x".', '1:31'],
    ['max_batch_size: 1.5', 'Expected integer, got: 1.5', '1:17'],
    ['max_batch_size: 2147483648', 'Integer out of range (2147483648)', '1:17'],
    ['input {\n  name: "a"\n  data_type: TYPE_FOO\n}', 'input[0].data_type: Unknown enumeration value of "TYPE_FOO" for field "data_type".', '3:14'],
    ['name: [ "a" ]', 'Expected string, got: [', '1:7'],
    ['name: "a";; max_batch_size: 1', 'Expected identifier, got: ;', '1:11'],
    ['max_batch_size 3', 'Expected ":", found "3".', '1:16'],
    ['dynamic_batching { max_queue_delay_microseconds: -1 }', 'Expected integer, got: -', '1:50'],
    ['dynamic_batching { preserve_ordering: 2 }', 'Integer out of range (2)', '1:39'],
    ['model_warmup { inputs { key: "a" value { zero_data: true random_data: true } } }', 'another member of oneof "input_data_type"', '1:58'],
    ['model_warmup { inputs { key: "a" value { zero_data: false zero_data: true } } }', 'Non-repeated field "zero_data" is specified multiple times.', '1:59'],
    ['dynamic_batching {} dynamic_batching {}', 'Non-repeated field "dynamic_batching" is specified multiple times.', '1:21'],
    ['[foo.bar]: 1', 'Extension "foo.bar" is not defined or is not an extension of "inference.ModelConfig".', '1:1'],
    ['name: "a" }', 'Expected identifier, got: }', '1:11'],
    ['input {', 'Expected identifier, got: ', '1:8'],
    ['name: "\\z"', 'Invalid escape sequence in string literal.', '1:8'],
    ['max_batch_size: 08', 'Numbers starting with leading zero must be in octal.', '1:17'],
    ['version_policy { specific { versions: 18446744073709551615 } }', 'Integer out of range (18446744073709551615)', '1:39'],
    ['name: "a\nb"', 'String literals cannot cross line boundaries.', '1:7'],
    ['max_batch_size: 3abc', 'Need space between number and identifier.', '1:17'],
    ['optimization { priority: PRIORITY_HIGH }', 'Unknown enumeration value of "PRIORITY_HIGH" for field "priority".', '1:26'],
    ['dynamic_batching { preferred_batch_size: [1 2] }', 'Expected ",", found "2".', '1:45'],
    ['response_cache [ { enable: true } ]', 'Expected "{", found "[".', '1:16'],
    ['sequence_batching { control_input { control { fp32_false_true: 0x10 } } }', 'Expect a decimal number, got: 0x10', '1:64'],
  ];

  for (const [text, message, where] of bad) {
    it(`rejects ${JSON.stringify(text)} like protoc`, () => {
      const verdict = protocParse(text);
      expect(verdict.ok, 'protoc accepts it').toBe(false);
      let err: unknown;
      try {
        parsePbtxt(text, 'models/m/config.pbtxt');
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(SpecError);
      const diag = (err as SpecError).diagnostics[0];
      expect(diag.file).toBe('models/m/config.pbtxt');
      expect(`${diag.line}:${diag.col}`).toBe(where);
      expect((err as SpecError).message).toContain(message);
      expect((err as SpecError).message.split('\n')).toHaveLength(1);
      // protoc's stderr says the same thing.
      const core = message.replace(/^[\w.[\]]+: (?=[A-Z])/, '');
      expect(verdict.ok ? '' : verdict.error).toContain(core);
    });
  }

  const lenient: string[] = [
    'max_batch_size: 0 max_batch_size: 3', // proto3: a default value does not count as set
    'parameters { key: "a" value { string_value: "x" } } parameters { key: "a" value {} }', // last map entry wins
    'cc_model_filenames { key: "" key: "b" }',
    'input { data_type: 99 } input { data_type: -1 }', // open enum: unknown numbers kept
    'sequence_batching { control_input { control { fp32_false_true: [1e39, inf, -nan, 1f, .5, -Infinity] } } }',
    'input: { dims: - 5 } name: "a" ,',
    'name: "\\u00e9\\xC3\\xA9\\303\\251\\U0001F600"',
  ];
  for (const text of lenient) {
    it(`accepts ${JSON.stringify(text)} like protoc, with the same message`, () => {
      const verdict = protocParse(text);
      expect(verdict.ok).toBe(true);
      const ours = parsePbtxt(text, 'c');
      const theirs = configFromMessage(modelConfigType().decode(verdict.ok ? verdict.bytes : Buffer.alloc(0)));
      expect(canonicalConfigBytes(ours)).toEqual(canonicalConfigBytes(theirs));
    });
  }
});

describe('parsePbtxt agrees with protoc on edge cases of the grammar', () => {
  const edges = [
    'name: "\\x"', "name: '\\0'", 'name: "\\x4142"', 'name: "\\1234"', 'name: "a" "b" \'c\'',
    'name: "\\303\\251"', 'name:\t"a"', '\ufeffname: "a"', 'name: "a"\u00a0', 'name: a', 'name: -"a"',
    'name: "a" # comment\n', 'name # c\n : "a"', 'name: "a"\r\nplatform: "b"', 'name:"a"platform:"b"',
    'max_batch_size: -2147483648', 'max_batch_size: -2147483649', 'max_batch_size: - 1', 'max_batch_size: -0x10',
    'max_batch_size: 1e3', 'max_batch_size: 1f', 'max_batch_size: true', 'max_batch_size: "1"', 'max_batch_size: 1_000',
    'dynamic_batching { preserve_ordering: True }', 'dynamic_batching { preserve_ordering: FALSE }',
    'dynamic_batching { preserve_ordering: 0x1 }', 'dynamic_batching { preserve_ordering: -1 }', 'dynamic_batching { preserve_ordering: 01 }',
    'sequence_batching { oldest { } direct { } }', 'sequence_batching { direct { minimum_slot_utilization: 1.5e } }',
    'sequence_batching { direct { minimum_slot_utilization: 1.e5 } }', 'sequence_batching { direct { minimum_slot_utilization: .5f } }',
    'sequence_batching { direct { minimum_slot_utilization: 5F } }', 'sequence_batching { direct { minimum_slot_utilization: NaN } }',
    'sequence_batching { direct { minimum_slot_utilization: -INF } }', 'sequence_batching { direct { minimum_slot_utilization: 1e-50 } }',
    'sequence_batching { direct { minimum_slot_utilization: 00.5 } }', 'sequence_batching { direct { minimum_slot_utilization: 0.5.5 } }',
    'sequence_batching { direct { minimum_slot_utilization: 017 } }', 'sequence_batching { direct { minimum_slot_utilization: 1e400 } }',
    'input { name: "a" } ; ', 'input { name: "a", } ', 'input { name: "a";, }', 'input { , name: "a" }', ', name: "a"',
    'input: [ ]', 'input: [{}, ]', 'input [{}]', 'input: <name: "a">', 'input < name: "a" }', 'input { name: "a" >',
    'parameters [ { key: "a" value { string_value: "b" } } ]', 'parameters { value { string_value: "b" } }', 'parameters { }',
    'parameters { key: "a" value: { string_value: "b" } }', 'parameters { key "a" }', 'cc_model_filenames { key: "a" value { } }',
    'dynamic_batching { priority_queue_policy { key: -1 } }', 'dynamic_batching { priority_queue_policy { key: 0x10 value {} } }',
    'instance_group { kind: 1 }', 'instance_group { kind: KIND_GPU, count: 2; gpus: [0, 1,] }', 'instance_group { gpus: [0, 1] }',
    'instance_group { kind: -1 }', 'instance_group { kind: - KIND_GPU }',
    'version_policy { specific { versions: [] } }', 'version_policy: { all: { } }', 'version_policy { all: {} latest: {} }',
    'model_warmup { inputs { key: "x" value { zero_data: true } } inputs { key: "x" value { random_data: true } } }',
    'optimization { cuda { graph_spec { input { key: "a" value { dim: [1, 2] } } } } }',
    'max_batch_size: 1 max_batch_size: 0', 'name: "" name: "x"', 'input { data_type: TYPE_INVALID data_type: TYPE_FP32 }',
    'model_transaction_policy { decoupled: false decoupled: true }', 'model_transaction_policy { decoupled: true decoupled: false }',
    'dims: 1', 'input { dims: 1 dims: [2, 3] dims: 4 }', 'input { dims: [1 }', 'input { dims: [1,, 2] }',
    '[inference.ModelConfig.name]: "a"', 'input {\n  name: "a"\n', '}',
  ];
  it(`accepts and rejects the same ${edges.length} texts, and reads the accepted ones to the same message`, () => {
    const disagreements: string[] = [];
    for (const text of edges) {
      const theirs = protocParse(text);
      let ours: ModelConfig | undefined;
      let error = '';
      try {
        ours = parsePbtxt(text, 'c');
      } catch (err) {
        expect(err).toBeInstanceOf(SpecError);
        error = (err as Error).message;
      }
      if (theirs.ok !== (ours !== undefined)) disagreements.push(`${JSON.stringify(text)}: protoc ${theirs.ok ? 'accepts' : 'rejects'}, we say ${error || 'ok'}`);
      else if (theirs.ok && !canonicalConfigBytes(ours!).equals(canonicalConfigBytes(configFromMessage(modelConfigType().decode(theirs.bytes)))))
        disagreements.push(`${JSON.stringify(text)}: read differently`);
    }
    expect(disagreements).toEqual([]);
  });

  it('is stricter than protoc only where protoc stores bytes that are not UTF-8 (it logs an error and goes on)', () => {
    for (const text of ['name: "\\U00110000"', 'name: "\\303"', 'name: "\\ud800"']) {
      expect(protocParse(text).ok).toBe(true);
      expect(() => parsePbtxt(text, 'c')).toThrow(SpecError);
    }
  });
});

describe('protobufjs textformat quirks we work around', () => {
  it('protobufjs toText bug: 64-bit map keys of a decoded message print as raw 8-byte hash strings', () => {
    const type = modelConfigType();
    const config: ModelConfig = { dynamic_batching: { priority_queue_policy: { '3': { max_queue_size: 1 } } } };
    const decoded = type.decode(canonicalConfigBytes(config));
    const buggy = toText(type, decoded);
    expect(buggy).not.toContain('key: 3\n'); // the key comes out as "\x03\0\0\0\0\0\0\0"
    expect(protocParse(buggy).ok).toBe(false);
    // Ours goes through a plain object with decimal keys.
    expect(toPbtxt(configFromMessage(decoded))).toContain('key: 3\n');
  });

  it('protobufjs fromObject silently drops an unknown enum name; toPbtxt reports it', () => {
    const msg = modelConfigType().fromObject({ input: [{ name: 'x', data_type: 'TYPE_FP99' }] });
    expect(toText(modelConfigType(), msg)).not.toContain('data_type');
    expect(() => toPbtxt({ input: [{ name: 'x', data_type: 'TYPE_FP99' as DataType }] })).toThrow('unknown value "TYPE_FP99"');
  });

  it('protobufjs fromText accepts a map entry with two keys, which protoc rejects; parsePbtxt rejects it', async () => {
    const { fromText } = await import('protobufjs/ext/textformat.js');
    const text = 'cc_model_filenames { key: "a" key: "b" value: "c" }';
    expect(() => fromText(modelConfigType(), text)).not.toThrow();
    expect(protocParse(text).ok).toBe(false);
    expect(() => parsePbtxt(text, 'c')).toThrow(SpecError);
  });

  it('a "__proto__" map key is a key like any other, as protoc takes it (issue 22, F9)', () => {
    const text = 'cc_model_filenames { key: "__proto__" value: "x" }\nparameters { key: "__proto__" value { string_value: "y" } }\n';
    expect(protocParse(text).ok).toBe(true);
    const parsed = parsePbtxt(text, 'c');
    expect(Object.keys(parsed.cc_model_filenames ?? {})).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(parsed.parameters)).toBe(Object.prototype);
    // Written back, it is the message protoc reads from the text.
    expect(protocDecode(protocEncode(toPbtxt(parsed)))).toBe(protocDecode(protocEncode(text)));
    const config = JSON.parse('{"cc_model_filenames": {"__proto__": "x"}}') as ModelConfig;
    expect(toPbtxt(config)).toBe('cc_model_filenames {\n  key: "__proto__"\n  value: "x"\n}\n');
  });

  it('long.js is present, so 64-bit values survive protobufjs encode/decode', () => {
    expect(protobuf.util.Long).toBeTruthy();
    const config: ModelConfig = { version_policy: { specific: { versions: ['9223372036854775807', '-9223372036854775808'] } } };
    expect(configFromMessage(modelConfigType().decode(canonicalConfigBytes(config)))).toEqual(config);
  });
});
