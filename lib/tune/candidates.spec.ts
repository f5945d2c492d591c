import { describe, expect, it } from 'vitest';
import { UserError } from '../errors';
import type { ModelConfig } from '../model-config';
import { candidateConfig, describeChange, describeKnobs, knobsKey, runsOnCpu, searchSpace, step, type Knobs } from './candidates';

// The search space of tune: where it starts, what may move on this machine, and the config a point loads.

const IO = { input: [{ name: 'X', data_type: 'TYPE_FP32' as const, dims: [4] }], output: [{ name: 'Y', data_type: 'TYPE_FP32' as const, dims: [4] }] };
const python = (extra: Partial<ModelConfig> = {}): ModelConfig => ({ name: 'm', backend: 'python', max_batch_size: 16, ...IO, instance_group: [{ kind: 'KIND_CPU', count: 1 }], ...extra });
const cpuHere = { hasGpu: false, maxConcurrency: 16, latencyBudgetMs: 50 };

function walk(knob: Parameters<typeof step>[0], direction: 'up' | 'down', from: Knobs, space: ReturnType<typeof searchSpace>): unknown[] {
  const seen: unknown[] = [];
  for (let k: Knobs | undefined = step(knob, direction, from, space); k; k = step(knob, direction, k, space)) {
    seen.push(knob === 'instance_count' ? k.count : knob === 'max_batch_size' ? k.maxBatchSize : knob === 'max_queue_delay_microseconds' ? k.delayUs : k.preferred);
  }
  return seen;
}

describe('searchSpace', () => {
  it('starts from the built config: one CPU instance, no batcher; every CPU knob free', () => {
    const space = searchSpace('m', python(), cpuHere);
    expect(space.baseline).toEqual({ kind: 'KIND_CPU', count: 1, batching: false, preferred: [], delayUs: 0, maxBatchSize: 16 });
    expect([...space.free]).toEqual(['dynamic_batching', 'instance_count', 'max_batch_size', 'max_queue_delay_microseconds', 'preferred_batch_size']);
    expect(space.frozen).toEqual([{ knob: 'instance_kind', why: 'no GPU here' }]);
    expect(space.notes).toEqual([]);
  });

  it("takes Triton's default count where the group gives none: 2 CPU instances for onnxruntime, 1 for python", () => {
    expect(searchSpace('m', python({ instance_group: [{ kind: 'KIND_CPU' }] }), cpuHere).baseline.count).toBe(1);
    const onnx = { ...python(), backend: undefined, platform: 'onnxruntime_onnx', instance_group: [{ kind: 'KIND_CPU' as const }] };
    expect(searchSpace('m', onnx, cpuHere).baseline.count).toBe(2);
  });

  it('measures KIND_GPU as KIND_CPU without a GPU, says so, and does not tune the count', () => {
    const gpu = python({ instance_group: [{ kind: 'KIND_GPU', count: 2, gpus: [0] }] });
    const space = searchSpace('m', gpu, cpuHere);
    expect(space.gpuAsCpu).toBe(true);
    expect(space.baseline).toMatchObject({ kind: 'KIND_CPU', count: 2 });
    expect(space.notes[0]).toMatch(/^this machine has no GPU: the KIND_GPU instances were measured as KIND_CPU instances; the instance count is not tuned/);
    expect(space.free.has('instance_count')).toBe(false);
    // What Triton loads: CPU instances without GPU ids (a KIND_CPU group with gpus is refused).
    expect(candidateConfig(space, { ...space.baseline, batching: true }).instance_group).toEqual([{ kind: 'KIND_CPU', count: 2 }]);
  });

  it('tunes a KIND_GPU count on a GPU machine, and tries CPU instances where the backend runs them', () => {
    const space = searchSpace('m', python({ instance_group: [{ kind: 'KIND_GPU', count: 1 }] }), { ...cpuHere, hasGpu: true });
    expect(space.gpuAsCpu).toBe(false);
    expect(space.baseline.kind).toBe('KIND_GPU');
    expect(space.free.has('instance_count') && space.free.has('instance_kind')).toBe(true);
    const cpu = step('instance_kind', 'down', space.baseline, space);
    expect(cpu?.kind).toBe('KIND_CPU');
    expect(candidateConfig(space, cpu!).instance_group).toEqual([{ kind: 'KIND_CPU', count: 1 }]);
  });

  it('refuses a GPU-only backend on a machine without a GPU, an ensemble and a decoupled model, in one line each', () => {
    const trt: ModelConfig = { name: 't', platform: 'tensorrt_plan', max_batch_size: 8, instance_group: [{ kind: 'KIND_GPU' }] };
    expect(runsOnCpu(trt)).toBe(false);
    expect(() => searchSpace('t', trt, cpuHere)).toThrow(new UserError('nx-triton: tune: t runs GPU instances only (backend tensorrt) and this machine has no GPU; run tune on a GPU machine'));
    expect(() => searchSpace('e', { name: 'e', platform: 'ensemble', ensemble_scheduling: { step: [] } }, cpuHere)).toThrow(
      'nx-triton: tune: e is an ensemble: it runs no instances of its own; tune the models its steps name',
    );
    expect(() => searchSpace('d', python({ model_transaction_policy: { decoupled: true } }), cpuHere)).toThrow(/d is decoupled/);
  });

  it('freezes the batcher knobs where the model does not batch or a sequence batcher schedules it', () => {
    const unbatched = searchSpace('m', python({ max_batch_size: 0 }), cpuHere);
    expect(unbatched.free.has('dynamic_batching')).toBe(false);
    expect(unbatched.frozen).toContainEqual({ knob: 'dynamic_batching', why: 'max_batch_size is 0: the model does not batch' });
    const sequence = searchSpace('m', python({ sequence_batching: {} }), cpuHere);
    expect(sequence.frozen).toContainEqual({ knob: 'max_queue_delay_microseconds', why: 'the model is scheduled by sequence_batching' });
  });

  it('does not tune the count of an AUTO group on a machine without a GPU (a CPU count would be written for GPUs)', () => {
    const space = searchSpace('m', python({ instance_group: undefined }), cpuHere);
    expect(space.baseline.kind).toBe('KIND_CPU');
    expect(space.free.has('instance_count')).toBe(false);
    expect(space.frozen[0].why).toMatch(/^instance kind AUTO is GPU where there is one/);
  });
});

describe('steps', () => {
  const space = searchSpace('m', python(), cpuHere);
  const batching: Knobs = { ...space.baseline, batching: true };

  it('walks each ladder up to its cap: counts up to the highest concurrency, max_batch_size never below the built one', () => {
    expect(walk('instance_count', 'up', space.baseline, space)).toEqual([2, 3, 4, 6, 8, 12, 16]);
    expect(walk('instance_count', 'down', { ...space.baseline, count: 4 }, space)).toEqual([3, 2, 1]);
    expect(walk('max_batch_size', 'up', batching, space)).toEqual([]);
    const wide = searchSpace('m', python({ max_batch_size: 4 }), { ...cpuHere, maxConcurrency: 32 });
    expect(walk('max_batch_size', 'up', { ...wide.baseline, batching: true }, wide)).toEqual([8, 16, 32]);
    expect(walk('max_batch_size', 'down', { ...wide.baseline, batching: true }, wide)).toEqual([]);
    // A queue delay above half the p99 budget cannot pay.
    expect(walk('max_queue_delay_microseconds', 'up', batching, space)).toEqual([100, 500, 1000, 2000, 5000, 10_000, 20_000]);
    expect(walk('preferred_batch_size', 'up', batching, space)).toEqual([[8, 16]]);
  });

  it('moves the batcher settings only with the batcher on', () => {
    expect(step('max_queue_delay_microseconds', 'up', space.baseline, space)).toBeUndefined();
    expect(step('dynamic_batching', 'up', space.baseline, space)).toEqual(batching);
    expect(step('dynamic_batching', 'up', batching, space)).toBeUndefined();
    expect(step('dynamic_batching', 'down', batching, space)).toEqual(space.baseline);
  });

  it("counts [max_batch_size] and no preferred sizes as one setting (Triton's default)", () => {
    const own = searchSpace('m', python({ dynamic_batching: { preferred_batch_size: [16] } }), cpuHere);
    expect(walk('preferred_batch_size', 'up', own.baseline, own)).toEqual([[8, 16]]);
    expect(walk('preferred_batch_size', 'down', own.baseline, own)).toEqual([]);
  });

  it('keeps preferred sizes that followed max_batch_size in step with it', () => {
    const wide = searchSpace('m', python({ max_batch_size: 4 }), { ...cpuHere, maxConcurrency: 32 });
    const half = { ...wide.baseline, batching: true, preferred: [2, 4] };
    expect(step('max_batch_size', 'up', half, wide)).toMatchObject({ maxBatchSize: 8, preferred: [4, 8] });
  });

  it('names points and steps, and tells apart only what matters (batcher settings without the batcher do not)', () => {
    expect(describeKnobs({ ...batching, count: 3, delayUs: 100, preferred: [8, 16] })).toBe('3×CPU, batching (max 16, preferred [8,16], delay 100 µs)');
    expect(describeKnobs(space.baseline)).toBe('1×CPU, no batching');
    expect(describeChange(space.baseline, { ...batching, count: 2 })).toBe('dynamic batching on, instance count 1 → 2');
    expect(knobsKey({ ...space.baseline, delayUs: 500 })).toBe(knobsKey(space.baseline));
    expect(knobsKey({ ...batching, delayUs: 500 })).not.toBe(knobsKey(batching));
  });
});

describe('candidateConfig', () => {
  it('is the built config with the knobs set, as the load API takes it; the built config is not touched', () => {
    const built = python({ dynamic_batching: { preferred_batch_size: [16], max_queue_delay_microseconds: 100, preserve_ordering: true } });
    const space = searchSpace('m', built, cpuHere);
    const config = candidateConfig(space, { ...space.baseline, count: 4, preferred: [8, 16], delayUs: 0 });
    expect(config.instance_group).toEqual([{ kind: 'KIND_CPU', count: 4 }]);
    // Other batcher settings stay; a zero delay is left out as protobuf leaves it.
    expect(config.dynamic_batching).toEqual({ preferred_batch_size: [8, 16], preserve_ordering: true });
    expect(candidateConfig(space, { ...space.baseline, batching: false }).dynamic_batching).toBeUndefined();
    expect(built.instance_group).toEqual([{ kind: 'KIND_CPU', count: 1 }]);
    expect(built.dynamic_batching?.max_queue_delay_microseconds).toBe(100);
  });
});
