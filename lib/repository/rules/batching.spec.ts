import { describe, expect, it } from 'vitest';
import type { BatchInput, BatchOutput, ModelQueuePolicy } from '../../model-config/generated';
import type { ModelConfig } from '../../model-config';
import { onnxModel } from './__fixtures__/configs';
import { checkModelConfig } from './index';

const check = (over: Partial<ModelConfig>) => checkModelConfig(onnxModel(over));
const paths = (over: Partial<ModelConfig>) => check(over).map((p) => p.path);

describe('batch_input and batch_output', () => {
  const ok: BatchInput = { kind: 'BATCH_ELEMENT_COUNT', target_name: ['x_count'], data_type: 'TYPE_INT32', source_input: ['x'] };

  it('passes a well-formed batch input and output', () => {
    expect(check({
      batch_input: [ok],
      batch_output: [{ kind: 'BATCH_SCATTER_WITH_INPUT_SHAPE', target_name: ['y'], source_input: ['x'] }],
    })).toEqual([]);
  });

  it('wants exactly one source input that names an input', () => {
    expect(paths({ batch_input: [{ ...ok, source_input: ['x', 'x'] }] })).toEqual(['batch_input[0].source_input']);
    const [p] = check({ batch_input: [{ ...ok, source_input: ['nope'] }] });
    expect(p).toEqual({ path: 'batch_input[0].source_input[0]', message: "unknown source input name 'nope'" });
  });

  it('takes only TYPE_INT32 or TYPE_FP32', () => {
    expect(paths({ batch_input: [{ ...ok, data_type: 'TYPE_INT64' }] })).toEqual(['batch_input[0].data_type']);
    expect(check({ batch_input: [{ ...ok, data_type: 'TYPE_FP32' }] })).toEqual([]);
  });

  it('wants batch output targets to be outputs, each once', () => {
    const out: BatchOutput = { kind: 'BATCH_SCATTER_WITH_INPUT_SHAPE', source_input: ['x'] };
    expect(check({ batch_output: [{ ...out, target_name: ['z'] }] })[0].message).toBe("unknown target output name 'z'");
    expect(check({ batch_output: [{ ...out, target_name: ['y', 'y'] }] })[0].message).toBe("target output name 'y' can only be specified once");
  });
});

describe('dynamic_batching', () => {
  it('wants preferred sizes in 1..max_batch_size', () => {
    expect(check({ dynamic_batching: { preferred_batch_size: [4, 8] } })).toEqual([]);
    expect(paths({ dynamic_batching: { preferred_batch_size: [0, 16] } })).toEqual([
      'dynamic_batching.preferred_batch_size[0]',
      'dynamic_batching.preferred_batch_size[1]',
    ]);
  });

  it('keeps the default priority level and queue policy keys within priority_levels', () => {
    expect(check({ dynamic_batching: { priority_levels: 3, default_priority_level: 2, priority_queue_policy: { 1: {}, 3: {} } } })).toEqual([]);
    expect(paths({ dynamic_batching: { priority_levels: 3, default_priority_level: 0 } })).toEqual(['dynamic_batching.default_priority_level']);
    expect(paths({ dynamic_batching: { priority_levels: 3, default_priority_level: 1, priority_queue_policy: { 4: {} } } })).toEqual([
      'dynamic_batching.priority_queue_policy[4]',
    ]);
  });

  it('forbids several priorities and DELAY with a timeout under preserve_ordering', () => {
    expect(paths({ dynamic_batching: { preserve_ordering: true, priority_levels: 2, default_priority_level: 1 } })).toEqual(['dynamic_batching.priority_levels']);
    const delay: ModelQueuePolicy = { timeout_action: 'DELAY', default_timeout_microseconds: 100 };
    expect(paths({ dynamic_batching: { preserve_ordering: true, default_queue_policy: delay } })).toEqual([
      'dynamic_batching.default_queue_policy.timeout_action',
    ]);
    expect(paths({ dynamic_batching: { preserve_ordering: true, priority_levels: 1, default_priority_level: 1, priority_queue_policy: { 1: delay } } })).toEqual([
      'dynamic_batching.priority_queue_policy[1].timeout_action',
    ]);
    // DELAY without a timeout, or REJECT with one, keeps the order.
    expect(check({ dynamic_batching: { preserve_ordering: true, default_queue_policy: { timeout_action: 'DELAY' } } })).toEqual([]);
    expect(check({ dynamic_batching: { preserve_ordering: true, default_queue_policy: { timeout_action: 'REJECT', default_timeout_microseconds: 5 } } })).toEqual([]);
  });

  it('allows one scheduler only', () => {
    expect(paths({ dynamic_batching: {}, sequence_batching: {} })).toEqual(['sequence_batching']);
  });
});

describe('response cache', () => {
  it('cannot be used with sequence batching or decoupled models', () => {
    expect(check({ response_cache: { enable: true }, dynamic_batching: {} })).toEqual([]);
    expect(check({ response_cache: { enable: true }, sequence_batching: {} })[0].message).toContain('sequence batching');
    expect(check({ response_cache: { enable: true }, model_transaction_policy: { decoupled: true } })[0].message).toContain('decoupled');
    expect(check({ response_cache: { enable: false }, model_transaction_policy: { decoupled: true } })).toEqual([]);
  });
});

describe('version_policy', () => {
  it('wants positive specific versions and at least one latest', () => {
    expect(check({ version_policy: { specific: { versions: [1, 3] } } })).toEqual([]);
    expect(check({ version_policy: { latest: { num_versions: 2 } } })).toEqual([]);
    expect(check({ version_policy: { all: {} } })).toEqual([]);
    expect(paths({ version_policy: { specific: { versions: [1, -2] } } })).toEqual(['version_policy.specific.versions[1]']);
    expect(paths({ version_policy: { specific: { versions: [] } } })).toEqual(['version_policy.specific.versions']);
    expect(paths({ version_policy: { latest: { num_versions: 0 } } })).toEqual(['version_policy.latest.num_versions']);
  });
});
