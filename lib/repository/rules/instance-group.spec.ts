import { describe, expect, it } from 'vitest';
import type { ModelInstanceGroup_Kind } from '../../model-config/generated';
import type { ModelConfig } from '../../model-config';
import { onnxModel, trtModel } from './__fixtures__/configs';
import { checkModelConfig } from './index';

const groups = (g: ModelConfig['instance_group'], make = onnxModel) => checkModelConfig(make({ instance_group: g }));
const paths = (g: ModelConfig['instance_group'], make = onnxModel) => groups(g, make).map((p) => p.path);

describe('instance_group', () => {
  it('passes GPU, CPU, MODEL and AUTO groups', () => {
    expect(groups([{ kind: 'KIND_GPU', count: 2, gpus: [0, 1] }, { kind: 'KIND_CPU', count: 4 }, { kind: 'KIND_MODEL' }, {}])).toEqual([]);
  });

  // tensorrt_backend src/instance_state.cc ModelInstanceState::Create: a kind other than GPU is refused
  // ("TensorRT backend supports only GPU device"); KIND_AUTO becomes GPU on a GPU machine.
  it('allows only GPU and AUTO instances for TensorRT models (issue 12.6)', () => {
    expect(groups([{ kind: 'KIND_GPU', count: 2 }, { kind: 'KIND_AUTO' }, {}], trtModel)).toEqual([]);
    expect(groups([{ kind: 'KIND_CPU', count: 1 }, { kind: 'KIND_MODEL' }], trtModel)).toEqual([
      { path: 'instance_group[0].kind', message: "Triton's TensorRT backend runs GPU instances only, got KIND_CPU (use KIND_GPU or KIND_AUTO)" },
      { path: 'instance_group[1].kind', message: "Triton's TensorRT backend runs GPU instances only, got KIND_MODEL (use KIND_GPU or KIND_AUTO)" },
    ]);
  });

  it('rejects an unknown kind', () => {
    // Not a name the proto has (the text-format parser refuses it): the rule still names it.
    expect(groups([{ kind: 'KIND_TPU' as ModelInstanceGroup_Kind }])[0]).toEqual({ path: 'instance_group[0].kind', message: expect.stringContaining("unknown kind 'KIND_TPU'") });
  });

  it('lists gpus only for KIND_GPU, never negative ids', () => {
    expect(paths([{ kind: 'KIND_CPU', gpus: [0] }])).toEqual(['instance_group[0].gpus']);
    expect(paths([{ kind: 'KIND_MODEL', gpus: [1] }])).toEqual(['instance_group[0].gpus']);
    expect(paths([{ kind: 'KIND_GPU', gpus: [0, -1] }])).toEqual(['instance_group[0].gpus[1]']);
  });

  it('rejects a negative count; 0 means the default as in Triton', () => {
    expect(paths([{ kind: 'KIND_GPU', count: -2 }])).toEqual(['instance_group[0].count']);
    expect(groups([{ kind: 'KIND_GPU', count: 0 }])).toEqual([]);
  });

  it('takes profiles only for TensorRT, as non-negative integer strings', () => {
    expect(paths([{ kind: 'KIND_GPU', profile: ['0'] }])).toEqual(['instance_group[0].profile']);
    expect(groups([{ kind: 'KIND_GPU', profile: ['0', '2'] }], trtModel)).toEqual([]);
    expect(paths([{ kind: 'KIND_GPU', profile: ['-1', 'x'] }], trtModel)).toEqual(['instance_group[0].profile[0]', 'instance_group[0].profile[1]']);
  });

  it('forbids instance groups on an ensemble', () => {
    const ensemble: ModelConfig = {
      name: 'e', platform: 'ensemble',
      input: [{ name: 'a', data_type: 'TYPE_FP32', dims: [1] }],
      output: [{ name: 'b', data_type: 'TYPE_FP32', dims: [1] }],
      ensemble_scheduling: { step: [{ model_name: 'm', input_map: { in: 'a' }, output_map: { out: 'b' } }] },
    };
    expect(checkModelConfig(ensemble)).toEqual([]);
    expect(checkModelConfig({ ...ensemble, instance_group: [{ kind: 'KIND_CPU' }] }).map((p) => p.path)).toEqual(['instance_group']);
  });
});
