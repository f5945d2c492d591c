import { describe, expect, it } from 'vitest';
import { parsePbtxt, toPbtxt } from '../../../proto/text-format';
import type { ModelConfig } from '../../model-config';
import { pipeline, stepsOf } from './__fixtures__/pipeline';
import { checkEnsemble, checkModelConfig } from './index';

const messages = (ps: Array<{ message: string }>) => ps.map((p) => p.message);

describe('ensemble structure (from the ensemble config alone)', () => {
  it('passes preprocess -> classifier -> postprocess', () => {
    expect(checkModelConfig(pipeline().ensemble, { dirName: 'classify' })).toEqual([]);
  });

  it('requires ensemble_scheduling for platform ensemble and forbids it elsewhere', () => {
    const { ensemble, members } = pipeline();
    expect(checkModelConfig({ ...ensemble, ensemble_scheduling: undefined }).map((p) => p.path)).toEqual(['ensemble_scheduling']);
    const onnx = { ...members.get('classifier')!, ensemble_scheduling: ensemble.ensemble_scheduling };
    expect(checkModelConfig(onnx).map((p) => p.path)).toEqual(['ensemble_scheduling']);
  });

  it('forbids optimization and model_warmup, needs a step', () => {
    const { ensemble } = pipeline();
    expect(checkModelConfig({ ...ensemble, optimization: {} }).map((p) => p.path)).toEqual(['optimization']);
    expect(checkModelConfig({ ...ensemble, model_warmup: [{ name: 'w' }] }).map((p) => p.path)).toEqual(['model_warmup']);
    expect(checkModelConfig({ ...ensemble, ensemble_scheduling: { step: [] } }).map((p) => p.path)).toEqual(['ensemble_scheduling.step']);
  });

  it('needs model_name and non-empty maps in each step, and no model_namespace', () => {
    const { ensemble } = pipeline();
    const steps = stepsOf(ensemble);
    steps[1] = { ...steps[1], model_name: '', output_map: {} };
    (steps[0] as Record<string, unknown>).model_namespace = 'ns';
    expect(checkModelConfig(ensemble).map((p) => p.path)).toEqual([
      'ensemble_scheduling.step[0].model_namespace',
      'ensemble_scheduling.step[1].model_name',
      'ensemble_scheduling.step[1].output_map',
    ]);
  });

  it('lets each ensemble tensor be produced once', () => {
    const { ensemble } = pipeline();
    stepsOf(ensemble)[1].output_map = { logits: 'pixels' };
    expect(messages(checkModelConfig(ensemble))[0]).toContain("ensemble tensor 'pixels' can appear in an output map only once");
  });

  // Triton's "input ... is mapped to multiple ensemble tensors" cannot happen from a config.pbtxt:
  // input_map is a protobuf map, and a key written twice keeps the last value (libprotobuf; our parser
  // too). The rule that looked for it read the map as a list of entries, which no config gives.
  it('reads a step input given twice in config.pbtxt as libprotobuf does: the last one', () => {
    const text = toPbtxt(pipeline().ensemble).replace('input_map {', 'input_map { key: "RAW" value: "NOT_AN_INPUT" }\n      input_map {');
    expect(text.match(/key: "RAW"/g)).toHaveLength(2);
    const parsed = parsePbtxt(text, 'ensemble/config.pbtxt');
    expect(parsed.ensemble_scheduling?.step?.[0].input_map).toEqual(stepsOf(pipeline().ensemble)[0].input_map);
    expect(messages(checkModelConfig(parsed))).toEqual([]);
  });

  it('follows the data flow: inputs used, outputs written, no dangling tensor', () => {
    const extraInput = pipeline().ensemble;
    extraInput.input!.push({ name: 'UNUSED', data_type: 'TYPE_FP32', dims: [1] });
    expect(checkModelConfig(extraInput)).toEqual([{ path: 'input[1]', message: "ensemble input 'UNUSED' is not used by any step" }]);

    const broken = pipeline().ensemble;
    stepsOf(broken)[1].input_map = { x: 'pixelz' };
    expect(messages(checkModelConfig(broken))).toEqual([
      "output 'CLASS' is not written: at least one of its depending tensors, 'scores', is not connected",
      "ensemble tensor 'pixels' is unused: no step consumes it and it is not an ensemble output",
      "ensemble tensor 'pixelz' is never written: no step produces it and it is not an ensemble input",
    ]);

    const notProduced = pipeline().ensemble;
    notProduced.output!.push({ name: 'SCORES', data_type: 'TYPE_FP32', dims: [1000] });
    expect(messages(checkModelConfig(notProduced))).toEqual(["ensemble output 'SCORES' is not produced by any step"]);
  });
});

describe('ensemble against its members', () => {
  it('passes the pipeline (an optional member input may stay unmapped)', () => {
    const { ensemble, members } = pipeline();
    expect(checkEnsemble(ensemble, members)).toEqual([]);
  });

  it('finds steps whose model is missing', () => {
    const { ensemble, members } = pipeline();
    members.delete('classifier');
    expect(checkEnsemble(ensemble, members)).toEqual([
      { path: 'ensemble_scheduling.step[1].model_name', message: "model 'classifier' is not in the repository" },
    ]);
  });

  it('wants maps to name real member tensors and every required input mapped', () => {
    const { ensemble, members } = pipeline();
    stepsOf(ensemble)[1].input_map = { input: 'pixels' };
    stepsOf(ensemble)[1].output_map = { probs: 'scores' };
    expect(messages(checkEnsemble(ensemble, members))).toEqual([
      "ensemble tensor 'pixels' is mapping to non-existing input 'input' in model 'classifier' (inputs: x)",
      "input 'x' of model 'classifier' is not mapped to any ensemble tensor",
      "ensemble tensor 'scores' is mapped from non-existing output 'probs' in model 'classifier' (outputs: logits)",
    ]);
  });

  it('wants data types and shapes to agree along each edge', () => {
    const { ensemble, members } = pipeline();
    members.get('classifier')!.input = [{ name: 'x', data_type: 'TYPE_FP16', dims: [3, 224, 224] }];
    members.get('postprocess')!.input![0].dims = [10];
    expect(messages(checkEnsemble(ensemble, members))).toEqual([
      "ensemble tensor 'pixels': inconsistent data type: TYPE_FP32 is inferred from model preprocess while TYPE_FP16 is inferred from model classifier",
      "ensemble tensor 'scores': inconsistent shape: [-1,1000] is inferred from model classifier while [-1,10] is inferred from model postprocess",
    ]);
  });

  it('reconciles a non-batching member with a batching one through the batch dim', () => {
    const { ensemble, members } = pipeline();
    members.set('classifier', { ...members.get('classifier')!, max_batch_size: 0, input: [{ name: 'x', data_type: 'TYPE_FP32', dims: [-1, 3, 224, 224] }], output: [{ name: 'logits', data_type: 'TYPE_FP32', dims: [-1, 1000] }] });
    expect(checkEnsemble(ensemble, members)).toEqual([]);
    members.get('classifier')!.input![0].dims = [-1, 3, 112, 112];
    expect(messages(checkEnsemble(ensemble, members))[0]).toContain('inconsistent shape: [-1,3,224,224] is inferred from model preprocess while [-1,3,112,112]');
  });

  it('wants batching members to cover the ensemble max_batch_size', () => {
    const { ensemble, members } = pipeline();
    members.get('postprocess')!.max_batch_size = 4;
    expect(messages(checkEnsemble(ensemble, members))).toEqual([
      'ensemble allows maximum batch size 8, but it contains model postprocess which only allows maximum batch size 4',
    ]);
  });

  it('checks nested ensembles and finds cycles through them', () => {
    const { ensemble, members } = pipeline();
    const outer: ModelConfig = {
      name: 'outer', platform: 'ensemble', max_batch_size: 8,
      input: [{ name: 'IMG', data_type: 'TYPE_UINT8', dims: [-1] }],
      output: [{ name: 'OUT', data_type: 'TYPE_STRING', dims: [1] }],
      ensemble_scheduling: { step: [{ model_name: 'classify', model_version: -1, input_map: { IMAGE: 'IMG' }, output_map: { CLASS: 'OUT' } }] },
    };
    const all = new Map([...members, ['classify', ensemble], ['outer', outer]]);
    expect(checkEnsemble(outer, all)).toEqual([]);
    expect(checkEnsemble(ensemble, all)).toEqual([]);

    // classify's last step now calls outer: outer -> classify -> outer.
    stepsOf(ensemble)[2] = { model_name: 'outer', input_map: { IMG: 'scores' }, output_map: { OUT: 'CLASS' } };
    const problems = checkEnsemble(outer, all);
    expect(problems.map((p) => p.message)).toContain('circular dependency between ensembles: outer -> classify -> outer');
    expect(messages(checkEnsemble(ensemble, all))).toContain('circular dependency between ensembles: classify -> outer -> classify');
  });

  it('finds an ensemble that calls itself', () => {
    const { ensemble, members } = pipeline();
    stepsOf(ensemble)[1].model_name = 'classify';
    expect(messages(checkEnsemble(ensemble, members))).toContain('circular dependency between ensembles: classify -> classify');
  });

  it('does not mix inputs from different decoupled models in one step', () => {
    const decoupled = (name: string, out: string): ModelConfig => ({
      name, backend: 'python', max_batch_size: 0, model_transaction_policy: { decoupled: true },
      input: [{ name: 'IN', data_type: 'TYPE_FP32', dims: [4] }],
      output: [{ name: out, data_type: 'TYPE_FP32', dims: [4] }],
    });
    const join: ModelConfig = {
      name: 'join', backend: 'python', max_batch_size: 0,
      input: [{ name: 'A', data_type: 'TYPE_FP32', dims: [4] }, { name: 'B', data_type: 'TYPE_FP32', dims: [4] }],
      output: [{ name: 'C', data_type: 'TYPE_FP32', dims: [4] }],
    };
    const members = new Map([['gen_a', decoupled('gen_a', 'OUT')], ['gen_b', decoupled('gen_b', 'OUT')], ['join', join]]);
    const ens: ModelConfig = {
      name: 'streams', platform: 'ensemble', max_batch_size: 0,
      input: [{ name: 'X', data_type: 'TYPE_FP32', dims: [4] }],
      output: [{ name: 'Y', data_type: 'TYPE_FP32', dims: [4] }],
      ensemble_scheduling: {
        step: [
          { model_name: 'gen_a', input_map: { IN: 'X' }, output_map: { OUT: 'a' } },
          { model_name: 'gen_b', input_map: { IN: 'X' }, output_map: { OUT: 'b' } },
          { model_name: 'join', input_map: { A: 'a', B: 'b' }, output_map: { C: 'Y' } },
        ],
      },
    };
    expect(checkModelConfig(ens)).toEqual([]);
    expect(checkEnsemble(ens, members)).toEqual([
      { path: 'ensemble_scheduling.step[2]', message: "step of model 'join' receives inputs originated from different decoupled models" },
    ]);
    // Both inputs from one decoupled stream (gen_a, then a plain model on its output) are fine.
    members.set('gen_b', { ...decoupled('gen_b', 'OUT'), model_transaction_policy: { decoupled: false } });
    stepsOf(ens)[1].input_map = { IN: 'a' };
    expect(checkEnsemble(ens, members)).toEqual([]);
  });

  it('wants a pinned model_version to be loaded', () => {
    const { ensemble, members } = pipeline();
    stepsOf(ensemble)[1].model_version = 2;
    const loaded = new Map([['preprocess', [1]], ['classifier', [1]], ['postprocess', [1]]]);
    expect(checkEnsemble(ensemble, members, loaded)).toEqual([
      { path: 'ensemble_scheduling.step[1].model_version', message: "depends on 'classifier' whose required version 2 is not loaded (versions: 1)" },
    ]);
    loaded.set('classifier', [1, 2]);
    expect(checkEnsemble(ensemble, members, loaded)).toEqual([]);
  });

  it('reads a step without model_version as version 0, as Triton does', () => {
    // The real tritonserver refuses such an ensemble ("depends on 'classifier' whose required version
    // 0 is not loaded"): the repository manager's dependency check (core
    // src/model_repository_manager/model_repository_manager.cc) takes the step's model_version as
    // written, and proto3's default is 0, not -1 (latest). test/agreement checks this against the server.
    const { ensemble, members } = pipeline();
    delete stepsOf(ensemble)[1].model_version;
    const loaded = new Map([['preprocess', [1]], ['classifier', [1]], ['postprocess', [1]]]);
    expect(checkEnsemble(ensemble, members, loaded)).toEqual([
      {
        path: 'ensemble_scheduling.step[1].model_version',
        message: "depends on 'classifier' whose required version 0 is not loaded (versions: 1); a step without model_version asks for version 0: write model_version: -1 for the latest",
      },
    ]);
  });
});
