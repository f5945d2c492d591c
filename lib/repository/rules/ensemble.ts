import type { ModelConfig, ModelTensor } from '../../model-config';
import type { Problem } from './problem';
import { isEnsemble } from '../../model-config';
import { dimsText, enumValue, tensorNames } from './problem';

interface Step {
  index: number;
  modelName: string;
  modelVersion: number;
  /** [member tensor, ensemble tensor] */
  inputs: Array<[string, string]>;
  outputs: Array<[string, string]>;
  namespace: string;
}

function steps(config: ModelConfig): Step[] {
  return (config.ensemble_scheduling?.step ?? []).map((s, index) => ({
    index,
    modelName: s.model_name ?? '',
    // Absent is 0 (proto3), which Triton reads as version 0, not as the latest (-1).
    modelVersion: Number(s.model_version ?? 0),
    // A map: each member input once (a key given twice in config.pbtxt keeps the last, as libprotobuf does).
    inputs: Object.entries(s.input_map ?? {}),
    outputs: Object.entries(s.output_map ?? {}),
    namespace: s.model_namespace ?? '',
  }));
}


/** Rules Triton checks on the ensemble's own config (BuildEnsembleGraph, ValidateEnsembleSchedulingConfig). */
export function checkEnsembleStructure(config: ModelConfig): Problem[] {
  const hasScheduling = config.ensemble_scheduling !== undefined && config.ensemble_scheduling !== null;
  if (!isEnsemble(config)) {
    return hasScheduling
      ? [{ path: 'ensemble_scheduling', message: `ensemble scheduling cannot be set for a model whose platform is not 'ensemble' (got '${config.platform ?? ''}')` }]
      : [];
  }
  if (!hasScheduling) {
    return [{ path: 'ensemble_scheduling', message: "ensemble scheduling must be set for a model whose platform is 'ensemble'" }];
  }
  const problems: Problem[] = [];
  if (config.optimization !== undefined && config.optimization !== null) {
    problems.push({ path: 'optimization', message: 'optimization should not be specified for an ensemble' });
  }
  if ((config.model_warmup ?? []).length > 0) {
    problems.push({ path: 'model_warmup', message: 'model_warmup can not be specified for an ensemble' });
  }
  const all = steps(config);
  if (all.length === 0) return [...problems, { path: 'ensemble_scheduling.step', message: "must specify at least one 'step'" }];

  // Tensor graph: each step's outputs depend on all of its inputs.
  const producedBy = new Map<string, number>();
  const consumers = new Map<string, number[]>();
  for (const s of all) {
    const at = `ensemble_scheduling.step[${s.index}]`;
    if (!s.modelName) problems.push({ path: `${at}.model_name`, message: "must specify 'model_name'" });
    if (s.namespace) problems.push({ path: `${at}.model_namespace`, message: 'model_namespace is reserved and must not be set' });
    if (s.inputs.length === 0) problems.push({ path: `${at}.input_map`, message: "must specify a non-empty 'input_map'" });
    if (s.outputs.length === 0) problems.push({ path: `${at}.output_map`, message: "must specify a non-empty 'output_map'" });
    for (const [, tensor] of s.outputs) {
      const first = producedBy.get(tensor);
      if (first !== undefined) {
        problems.push({
          path: `${at}.output_map`,
          message: `ensemble tensor '${tensor}' can appear in an output map only once (already produced by step[${first}])`,
        });
      } else producedBy.set(tensor, s.index);
    }
    for (const [, tensor] of s.inputs) consumers.set(tensor, [...(consumers.get(tensor) ?? []), s.index]);
  }
  if (problems.length > 0) return problems;

  // Data flow from the ensemble inputs: a step runs once all its inputs are ready.
  const inputs = tensorNames(config.input);
  const outputs = tensorNames(config.output);
  const ready = new Set<string>();
  inputs.forEach((name, i) => {
    if (!consumers.has(name)) problems.push({ path: `input[${i}]`, message: `ensemble input '${name}' is not used by any step` });
    ready.add(name);
  });
  for (let progress = true; progress; ) {
    progress = false;
    for (const s of all) {
      if (s.outputs.every(([, t]) => ready.has(t))) continue;
      if (s.inputs.every(([, t]) => ready.has(t))) {
        s.outputs.forEach(([, t]) => ready.add(t));
        progress = true;
      }
    }
  }
  outputs.forEach((name, i) => {
    if (!producedBy.has(name)) {
      problems.push({ path: `output[${i}]`, message: `ensemble output '${name}' is not produced by any step` });
    } else if (!ready.has(name)) {
      const step = all[producedBy.get(name)!];
      const missing = step.inputs.find(([, t]) => !ready.has(t))?.[1];
      problems.push({
        path: `output[${i}]`,
        message: `output '${name}' is not written: at least one of its depending tensors, '${missing}', is not connected`,
      });
    }
  });
  const outputSet = new Set(outputs);
  const inputSet = new Set(inputs);
  for (const [tensor, by] of producedBy) {
    if (!outputSet.has(tensor) && !consumers.has(tensor)) {
      problems.push({
        path: `ensemble_scheduling.step[${by}].output_map`,
        message: `ensemble tensor '${tensor}' is unused: no step consumes it and it is not an ensemble output`,
      });
    }
  }
  for (const [tensor, by] of consumers) {
    if (!producedBy.has(tensor) && !inputSet.has(tensor)) {
      problems.push({
        path: `ensemble_scheduling.step[${by[0]}].input_map`,
        message: `ensemble tensor '${tensor}' is never written: no step produces it and it is not an ensemble input`,
      });
    }
  }
  return problems;
}

/** A tensor as one model sees it: dims without, and full dims with, the batch dim. */
interface TensorView {
  model: string;
  type: string;
  dims: number[];
  full: number[];
}

function view(model: string, batching: boolean, t: ModelTensor, useReshape: boolean): TensorView {
  const dims = ((useReshape && t.reshape ? t.reshape.shape : t.dims) ?? []).map(Number);
  return { model, type: enumValue(t.data_type, 'inference.DataType'), dims, full: batching ? [-1, ...dims] : dims };
}

function sameDims(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i] || d === -1 || b[i] === -1);
}

/** Triton's ValidateTensorConsistency. */
function inconsistency(tensor: string, a: TensorView, b: TensorView): string | undefined {
  if (a.type !== b.type) {
    return `ensemble tensor '${tensor}': inconsistent data type: ${a.type} is inferred from model ${a.model} while ${b.type} is inferred from model ${b.model}`;
  }
  if (!sameDims(a.dims, b.dims) && !sameDims(a.full, b.full)) {
    return `ensemble tensor '${tensor}': inconsistent shape: ${dimsText(a.full)} is inferred from model ${a.model} while ${dimsText(b.full)} is inferred from model ${b.model}`;
  }
  return undefined;
}

/** Cycles through ensemble steps, starting at `config`: each as the list of model names. */
function findCycle(config: ModelConfig, configs: Map<string, ModelConfig>): string[] | undefined {
  const start = config.name ?? '';
  const lookup = (name: string) => (name === start ? config : configs.get(name));
  const onPath: string[] = [];
  const done = new Set<string>();
  const visit = (name: string): string[] | undefined => {
    const at = onPath.indexOf(name);
    if (at >= 0) return [...onPath.slice(at), name];
    if (done.has(name)) return undefined;
    const c = lookup(name);
    if (!c || !isEnsemble(c)) return undefined;
    onPath.push(name);
    for (const s of steps(c)) {
      const cycle = visit(s.modelName);
      if (cycle) return cycle;
    }
    onPath.pop();
    done.add(name);
    return undefined;
  };
  const cycle = visit(start);
  return cycle && cycle[0] === start ? cycle : undefined;
}

/**
 * An ensemble against its members' configs (Triton's ValidateEnsembleConfig and the repository
 * manager's dependency checks). `members` may hold the whole repository: nested ensembles are
 * followed to find cycles. `loadedVersions` (model -> versions Triton would load) checks pinned
 * `model_version`s.
 */
export function checkEnsemble(
  config: ModelConfig,
  members: Map<string, ModelConfig>,
  loadedVersions?: Map<string, number[]>,
): Problem[] {
  if (!isEnsemble(config)) return [];
  const problems: Problem[] = [];
  const self = config.name ?? '';
  const all = steps(config);

  const cycle = findCycle(config, members);
  if (cycle) {
    const step = all.find((s) => s.modelName === cycle[1]);
    problems.push({
      path: `ensemble_scheduling.step[${step?.index ?? 0}].model_name`,
      message: `circular dependency between ensembles: ${cycle.join(' -> ')}`,
    });
  }

  const ensembleMax = config.max_batch_size ?? 0;
  const tensors = new Map<string, TensorView>();
  for (const t of [...(config.input ?? []), ...(config.output ?? [])]) {
    if (t.name) tensors.set(t.name, view(self, ensembleMax > 0, t, true));
  }
  const decoupledStep = new Map<number, boolean>();

  for (const s of all) {
    const at = `ensemble_scheduling.step[${s.index}]`;
    const member = s.modelName === self ? config : members.get(s.modelName);
    if (!member) {
      problems.push({ path: `${at}.model_name`, message: `model '${s.modelName}' is not in the repository` });
      continue;
    }
    decoupledStep.set(s.index, member.model_transaction_policy?.decoupled === true);
    if (s.modelVersion >= 0 && loadedVersions?.has(s.modelName) && !loadedVersions.get(s.modelName)!.includes(s.modelVersion)) {
      const have = loadedVersions.get(s.modelName)!;
      const hint = s.modelVersion === 0 ? '; a step without model_version asks for version 0: write model_version: -1 for the latest' : '';
      problems.push({
        path: `${at}.model_version`,
        message: `depends on '${s.modelName}' whose required version ${s.modelVersion} is not loaded (versions: ${have.length ? have.join(', ') : 'none'})${hint}`,
      });
    }
    const memberMax = member.max_batch_size ?? 0;
    if (memberMax !== 0 && memberMax < ensembleMax) {
      problems.push({
        path: `${at}.model_name`,
        message: `ensemble allows maximum batch size ${ensembleMax}, but it contains model ${s.modelName} which only allows maximum batch size ${memberMax}`,
      });
    }
    const batching = memberMax > 0;
    const memberInputs: ModelTensor[] = member.input ?? [];
    const memberOutputs: ModelTensor[] = member.output ?? [];
    const inputNames = new Set(memberInputs.map((t) => t.name));
    const outputNames = new Set(memberOutputs.map((t) => t.name));
    const extend = (tensor: string, v: TensorView, path: string) => {
      const known = tensors.get(tensor);
      if (!known) {
        tensors.set(tensor, v);
        return;
      }
      const why = inconsistency(tensor, known, v);
      if (why) problems.push({ path, message: why });
    };

    for (const [name, tensor] of s.inputs) {
      if (!inputNames.has(name)) {
        problems.push({
          path: `${at}.input_map[${name}]`,
          message: `ensemble tensor '${tensor}' is mapping to non-existing input '${name}' in model '${s.modelName}' (inputs: ${[...inputNames].join(', ') || 'none'})`,
        });
      }
    }
    for (const t of memberInputs) {
      const mapped = s.inputs.filter(([name]) => name === t.name);
      if (mapped.length === 0 && !t.optional) {
        problems.push({ path: `${at}.input_map`, message: `input '${t.name}' of model '${s.modelName}' is not mapped to any ensemble tensor` });
      }
      for (const [, tensor] of mapped) extend(tensor, view(s.modelName, batching, t, false), `${at}.input_map[${t.name}]`);
    }
    for (const [name, tensor] of s.outputs) {
      const t = memberOutputs.find((o) => o.name === name);
      if (!t) {
        problems.push({
          path: `${at}.output_map[${name}]`,
          message: `ensemble tensor '${tensor}' is mapped from non-existing output '${name}' in model '${s.modelName}' (outputs: ${[...outputNames].join(', ') || 'none'})`,
        });
      } else extend(tensor, view(s.modelName, batching, t, false), `${at}.output_map[${name}]`);
    }
  }
  problems.push(...checkDecoupledMix(config, all, decoupledStep));
  return problems;
}

/**
 * A step must not take inputs that come from different decoupled models: responses of two
 * decoupled producers cannot be paired. Labels follow Triton's walk from the ensemble inputs.
 */
function checkDecoupledMix(config: ModelConfig, all: Step[], decoupled: Map<number, boolean>): Problem[] {
  const label = new Map<string, number>();
  for (const name of tensorNames(config.input)) label.set(name, 0);
  let next = 0;
  const done = new Set<number>();
  const problems: Problem[] = [];
  for (let progress = true; progress; ) {
    progress = false;
    for (const s of all) {
      if (done.has(s.index) || !decoupled.has(s.index)) continue;
      if (!s.inputs.every(([, t]) => label.has(t))) continue;
      done.add(s.index);
      progress = true;
      const labels = new Set(s.inputs.map(([, t]) => label.get(t)!));
      if (labels.size > 1) {
        problems.push({
          path: `ensemble_scheduling.step[${s.index}]`,
          message: `step of model '${s.modelName}' receives inputs originated from different decoupled models`,
        });
      }
      const out = decoupled.get(s.index) ? ++next : [...labels][0];
      for (const [, t] of s.outputs) if (!label.has(t)) label.set(t, out);
    }
  }
  const outputs = tensorNames(config.output).filter((t) => label.has(t));
  if (new Set(outputs.map((t) => label.get(t))).size > 1) {
    problems.push({ path: 'output', message: 'the ensemble outputs originate from different decoupled models' });
  }
  return problems;
}
