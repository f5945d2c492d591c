import fc from 'fast-check';
import * as protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { modelConfigType } from '../../proto/model-config';
import { canonicalConfig, configsEqual, parsePbtxt } from '../../proto/text-format';
import { parseSpec } from '../model-spec';
import { unknownPlatformMessage } from '../model-spec/platform';
import type { ModelConfig } from '../model-config';
import { configToYaml } from './to-yaml';

const DIR = '/workspace/models/my_model';

/** The triton.yaml as lib/model-spec loads it: its config must be the original message (plus the name). */
function loadBack(yaml: string) {
  return parseSpec(yaml, 'models/my_model/triton.yaml', DIR, { checkFiles: false });
}

function roundTrip(config: ModelConfig, keys = { version: 1, export: { file: 'model.onnx' } }) {
  const yaml = configToYaml(config, keys, 'repo/my_model/config.pbtxt');
  const spec = loadBack(yaml);
  return { yaml, spec, equal: configsEqual(spec.config, { ...config, name: 'my_model' }) };
}

describe('configToYaml', () => {
  it('keeps empty messages, oneofs, 64-bit integers, uint64 map keys, floats and string values exactly', () => {
    const config = parsePbtxt(
      `platform: "onnxruntime_onnx"
       version_policy { latest { num_versions: 2 } }
       dynamic_batching {
         max_queue_delay_microseconds: 9007199254740993
         priority_levels: 3
         priority_queue_policy { key: 18446744073709551615 value { max_queue_size: 1 } }
         priority_queue_policy { key: 2 value { } }
       }
       model_transaction_policy { }
       parameters { key: "yes" value { string_value: "true" } }
       parameters { key: "007" value { string_value: "0x1F" } }
       metric_tags { key: "team" value: "search: ranking" }
       response_cache { }`,
      'config.pbtxt',
    );
    const { yaml, spec, equal } = roundTrip(config);
    expect(equal).toBe(true);
    expect(yaml).toContain('max_queue_delay_microseconds: 9007199254740993\n');
    expect(yaml).toContain('18446744073709551615: {max_queue_size: 1}');
    expect(yaml).toContain('model_transaction_policy: {}\n');
    expect(yaml).toContain('response_cache: {}\n');
    expect(yaml).toContain('version_policy: {latest: {num_versions: 2}}\n');
    expect(spec.config.parameters).toEqual({ '007': { string_value: '0x1F' }, yes: { string_value: 'true' } });
  });

  it('keeps float32 values exactly and the sequence batcher oneof', () => {
    const config = parsePbtxt(
      `sequence_batching { oldest { max_candidate_sequences: 4 } control_input [ { name: "START" control [ { kind: CONTROL_SEQUENCE_START fp32_false_true: [ 0, 0.1, 3.4028235e38, -1.17549435e-38 ] } ] } ] }`,
      'config.pbtxt',
    );
    const { yaml, equal } = roundTrip(config);
    expect(equal).toBe(true);
    expect(yaml).toContain('fp32_false_true: [0, 0.1, 3.4028235e+38, -1.1754944e-38]');
    expect(yaml).toContain('oldest: {max_candidate_sequences: 4}');
  });

  it('writes a readable file: header, name left out, leading keys first, plugin keys last', () => {
    const config = parsePbtxt(
      `name: "my_model" response_cache { enable: true } max_batch_size: 16 platform: "onnxruntime_onnx"
       instance_group [ { count: 4 kind: KIND_GPU } ]
       input [ { name: "x" data_type: TYPE_INT64 dims: [ -1 ] } ]`,
      'config.pbtxt',
    );
    const yaml = configToYaml(
      config,
      { version: 7, previous_versions: { '10': 'versions/10', '2': 'versions/2' }, export: { file: 'model.onnx' } },
      'repo/my_model/config.pbtxt',
    );
    expect(yaml).toBe(`# Imported by nx-triton from repo/my_model/config.pbtxt

platform: onnxruntime_onnx
max_batch_size: 16
input:
  - {name: x, data_type: TYPE_INT64, dims: [-1]}
instance_group:
  - {kind: KIND_GPU, count: 4}
response_cache: {enable: true}

# nx-triton keys (not written to config.pbtxt)
version: 7
previous_versions: {"2": versions/2, "10": versions/10}
export: {file: model.onnx}
`);
    const spec = loadBack(yaml);
    expect(spec.version).toBe(7);
    expect(spec.previousVersions).toEqual({ '2': 'versions/2', '10': 'versions/10' });
    expect(configsEqual(spec.config, config)).toBe(true);
  });

  it('writes an ensemble without export', () => {
    const config = parsePbtxt(
      `platform: "ensemble" ensemble_scheduling { step [ { model_name: "a" model_version: -1 input_map { key: "x" value: "in" } output_map { key: "y" value: "out" } } ] }`,
      'config.pbtxt',
    );
    const yaml = configToYaml(config, { version: 1 }, 'repo/e/config.pbtxt');
    expect(yaml).not.toContain('export');
    expect(yaml).toContain('      input_map: {x: in}\n');
    expect(configsEqual(loadBack(yaml).config, { ...config, name: 'my_model' })).toBe(true);
  });

  it('refuses a non-finite float, which triton.yaml cannot hold', () => {
    const config = parsePbtxt(`sequence_batching { control_input [ { name: "S" control [ { fp32_false_true: [ inf ] } ] } ] }`, 'c');
    expect(() => configToYaml(config, { version: 1 }, 'r/m/config.pbtxt')).toThrow(
      'sequence_batching.control_input[0].control[0].fp32_false_true[0]: Infinity cannot be written to triton.yaml (only finite numbers are accepted)',
    );
  });
});

// ------------------------------------------------------------------ property: random messages

const INT_RANGES: Record<string, [bigint, bigint]> = {
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  uint32: [0n, 2n ** 32n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
};

function intArb(type: string): fc.Arbitrary<number | string> {
  const [min, max] = INT_RANGES[type];
  return fc
    .oneof(fc.bigInt({ min: min < 0n ? -3n : 0n, max: 100n }), fc.bigInt({ min, max }))
    .map((v) => (Number.isSafeInteger(Number(v)) ? Number(v) : v.toString()));
}

const text = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.string({ unit: fc.constantFrom('"', "'", '\\', '\n', '\t', '#', ':', '{', '-', ' ', '0', 'é', '😀', '\u2028', '\0'), maxLength: 6 }),
  fc.constantFrom('true', 'null', '1', '0x1F', '~', '1e3', '.inf', 'yes'),
);

function valueArb(field: protobuf.Field, depth: number): fc.Arbitrary<unknown> {
  const resolved = field.resolve().resolvedType;
  if (resolved instanceof protobuf.Type) return messageArb(resolved, depth + 1);
  if (resolved instanceof protobuf.Enum) return fc.constantFrom(...Object.keys(resolved.values));
  if (field.type === 'string') return text;
  if (field.type === 'bool') return fc.boolean();
  if (field.type === 'float') return fc.float({ noNaN: true, noDefaultInfinity: true });
  if (field.type === 'double') return fc.double({ noNaN: true, noDefaultInfinity: true });
  return intArb(field.type);
}

function messageArb(type: protobuf.Type, depth: number): fc.Arbitrary<Record<string, unknown>> {
  if (depth > 3) return fc.constant({});
  const parts: Record<string, fc.Arbitrary<unknown>> = {};
  for (const field of type.fieldsArray) {
    if (field.partOf) continue;
    if (depth === 0 && field.name === 'name') continue;
    if (field.map) {
      const keyType = (field as unknown as protobuf.MapField).keyType;
      const key = keyType === 'string' ? text : intArb(keyType).map(String);
      parts[field.name] = fc.dictionary(key, valueArb(field, depth), { maxKeys: 2 });
    } else if (field.repeated) parts[field.name] = fc.array(valueArb(field, depth), { maxLength: 2 });
    else parts[field.name] = valueArb(field, depth);
  }
  const oneofs = type.oneofsArray.map((oneof) =>
    fc.option(fc.oneof(...oneof.fieldsArray.map((f) => valueArb(f, depth).map((v) => [f.name, v] as const))), { nil: undefined }),
  );
  return fc
    .record({ fields: fc.record(parts, { requiredKeys: [] }), oneofs: fc.tuple(...oneofs) })
    .map(({ fields, oneofs: chosen }) => {
      const out: Record<string, unknown> = { ...fields };
      for (const pick of chosen) if (pick) out[pick[0]] = pick[1];
      return out;
    });
}

describe('configToYaml on random configs', () => {
  it('loads back through lib/model-spec as the same message', () => {
    const type = modelConfigType();
    fc.assert(
      fc.property(messageArb(type, 0), (random) => {
        const config = canonicalConfig(random as ModelConfig);
        // An unknown platform needs a backend (Triton: "unexpected platform type"): give it one.
        if (unknownPlatformMessage(config.platform, config.backend)) config.backend = 'custom';
        // A TensorRT model must name its source; export is always set here.
        const { equal } = roundTrip(config);
        expect(equal).toBe(true);
      }),
      { numRuns: 300, seed: 61 },
    );
  });
});
