import { UserError } from '../errors';
import { backendOf } from '../platforms';
import { checkInstanceGroups } from '../repository/rules/instance-group';
import { isEnsemble, type ModelConfig } from '../model-config';

/**
 * The search space of `tune`: the serving knobs of one model, where it starts (the built config),
 * which knobs may move on this machine, and how a point of the space becomes a config to load.
 *
 * Triton's rules this follows (triton-inference-server/core, src/model_config_utils.cc):
 * - `dynamic_batching` without `preferred_batch_size` gets `[max_batch_size]` (NormalizeModelConfig),
 *   so "no preferred sizes" is a setting of its own, not a missing one;
 * - an instance group without a count gets 1, or 2 for KIND_CPU of the onnxruntime and tensorflow
 *   backends (SetDefaultInstanceCount);
 * - KIND_AUTO (also an absent instance_group) is KIND_GPU where there are GPUs, else KIND_CPU;
 * - dynamic, sequence and ensemble scheduling are one oneof (`scheduling_choice`): a sequence model
 *   or an ensemble cannot get the dynamic batcher; batching needs `max_batch_size` > 0.
 */

export type InstanceKind = 'KIND_CPU' | 'KIND_GPU' | 'KIND_MODEL';

/** One point of the space: what a candidate config sets. */
export interface Knobs {
  /** The instance kind the candidate runs with (on this machine). */
  kind: InstanceKind;
  /** Instances (per GPU for KIND_GPU). */
  count: number;
  /** `dynamic_batching` present. */
  batching: boolean;
  /** `dynamic_batching.preferred_batch_size`; [] is Triton's default, [max_batch_size]. */
  preferred: number[];
  /** `dynamic_batching.max_queue_delay_microseconds`. */
  delayUs: number;
  /** 0: the model does not batch (tune never changes that). */
  maxBatchSize: number;
}

export type KnobName = 'dynamic_batching' | 'instance_count' | 'max_batch_size' | 'max_queue_delay_microseconds' | 'preferred_batch_size' | 'instance_kind';

/**
 * The order a pass of the search tries the knobs in: what usually pays most first (Triton's
 * optimization guide: dynamic batching, then instance count), the fine knobs last.
 */
export const KNOB_ORDER: readonly KnobName[] = [
  'dynamic_batching',
  'instance_count',
  'max_batch_size',
  'max_queue_delay_microseconds',
  'preferred_batch_size',
  'instance_kind',
];

/** Instance counts tried, up to the space's cap. */
export const COUNT_LADDER: readonly number[] = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32];
/** Queue delays tried (µs), up to the space's cap. */
export const DELAY_LADDER_US: readonly number[] = [0, 100, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000, 100_000];

export interface SpaceOptions {
  /** Whether this machine has a GPU Triton can use. */
  hasGpu: boolean;
  /** The highest concurrency measured: no more instances, nor a larger batch, can be busy at once. */
  maxConcurrency: number;
  /** p99 budget: a queue delay above half of it cannot pay. */
  latencyBudgetMs: number;
}

export interface SearchSpace {
  model: string;
  /** The built config (config.pbtxt), the start of every candidate. */
  config: ModelConfig;
  /** The built config as a point, on this machine (KIND_GPU measured as KIND_CPU without a GPU). */
  baseline: Knobs;
  /** Knobs that may move. */
  free: ReadonlySet<KnobName>;
  /** Knobs that may not, each with the reason (for the report). */
  frozen: ReadonlyArray<{ knob: KnobName; why: string }>;
  /** The instance kind triton.yaml asks for (KIND_AUTO where it names none). */
  declaredKind: InstanceKind | 'KIND_AUTO';
  /** The candidates run KIND_CPU instances where the config asks for GPU ones (this machine has none). */
  gpuAsCpu: boolean;
  caps: { count: number; maxBatchSize: number; delayUs: number };
  /** Lines for the report: what was measured differently from what the config says, and why. */
  notes: string[];
}

/** Triton's count for a group that gives none (core SetDefaultInstanceCount). */
export function defaultInstanceCount(kind: InstanceKind, backend: string): number {
  return kind === 'KIND_CPU' && (backend === 'onnxruntime' || backend === 'tensorflow') ? 2 : 1;
}

/** Whether the model's backend runs CPU instances: our instance-group rule has the one fact (TensorRT runs GPU ones only). */
export function runsOnCpu(config: ModelConfig): boolean {
  return !checkInstanceGroups({ ...config, instance_group: [{ kind: 'KIND_CPU' }] }).some((p) => p.path.endsWith('.kind'));
}

function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** The preferred sizes tried besides the config's own: Triton's default and "half or full". */
export function halfAndFull(maxBatchSize: number): number[] {
  return maxBatchSize >= 2 ? [Math.ceil(maxBatchSize / 2), maxBatchSize] : [];
}

function num(v: number | string | undefined): number {
  return v === undefined ? 0 : Number(v);
}

/**
 * The space for a built config. Throws a UserError for a model tune cannot measure: an ensemble
 * (no instances of its own), a decoupled model (perf_analyzer measures those over gRPC streaming
 * only), a GPU-only backend on a machine without a GPU.
 */
export function searchSpace(model: string, config: ModelConfig, options: SpaceOptions): SearchSpace {
  if (isEnsemble(config) || config.ensemble_scheduling) {
    throw new UserError(`nx-triton: tune: ${model} is an ensemble: it runs no instances of its own; tune the models its steps name`);
  }
  if (config.model_transaction_policy?.decoupled) {
    throw new UserError(`nx-triton: tune: ${model} is decoupled (model_transaction_policy.decoupled): tune measures request/response models only`);
  }
  const backend = backendOf(config);
  const groups = config.instance_group ?? [];
  const frozen: Array<{ knob: KnobName; why: string }> = [];
  const notes: string[] = [];
  const declared = (groups.length === 1 ? (groups[0].kind ?? 'KIND_AUTO') : 'KIND_AUTO') as InstanceKind | 'KIND_AUTO';
  // GPU instances where the config asks for them (or leaves it to AUTO) and there is a GPU.
  const onGpu = options.hasGpu && (groups.length === 0 || groups.some((g) => (g.kind ?? 'KIND_AUTO') === 'KIND_GPU' || (g.kind ?? 'KIND_AUTO') === 'KIND_AUTO'));
  const cpuOk = runsOnCpu(config);
  let gpuAsCpu = false;
  if (!options.hasGpu && groups.some((g) => g.kind === 'KIND_GPU')) {
    if (!cpuOk) {
      throw new UserError(`nx-triton: tune: ${model} runs GPU instances only (backend ${backend}) and this machine has no GPU; run tune on a GPU machine`);
    }
    gpuAsCpu = true;
    notes.push('this machine has no GPU: the KIND_GPU instances were measured as KIND_CPU instances; the instance count is not tuned (a count chosen for CPU instances is no count for GPU ones)');
  }
  const kind: InstanceKind = onGpu ? 'KIND_GPU' : declared === 'KIND_MODEL' ? 'KIND_MODEL' : 'KIND_CPU';
  const group = groups[0];
  const count = group?.count && group.count > 0 ? group.count : defaultInstanceCount(kind, backend);

  if (groups.length > 1) frozen.push({ knob: 'instance_count', why: `the config has ${groups.length} instance groups` });
  else if (gpuAsCpu) frozen.push({ knob: 'instance_count', why: 'KIND_GPU measured on CPU instances (no GPU here)' });
  else if (declared === 'KIND_AUTO' && !options.hasGpu) {
    frozen.push({ knob: 'instance_count', why: 'instance kind AUTO is GPU where there is one: a count measured on CPU instances is not written (set kind: cpu to tune it here)' });
  }

  const mbs = config.max_batch_size ?? 0;
  const scheduler = config.sequence_batching ? 'sequence_batching' : undefined;
  const batchingFrozen = mbs <= 0 ? 'max_batch_size is 0: the model does not batch' : scheduler ? 'the model is scheduled by sequence_batching' : undefined;
  if (batchingFrozen) {
    for (const knob of ['dynamic_batching', 'max_batch_size', 'max_queue_delay_microseconds', 'preferred_batch_size'] as const) frozen.push({ knob, why: batchingFrozen });
  }
  if (!options.hasGpu) frozen.push({ knob: 'instance_kind', why: 'no GPU here' });
  else if (!cpuOk) frozen.push({ knob: 'instance_kind', why: `backend ${backend} runs GPU instances only` });
  else if (groups.length !== 1 || declared === 'KIND_AUTO' || declared === 'KIND_MODEL') frozen.push({ knob: 'instance_kind', why: 'the config names no single GPU or CPU instance group' });

  const batching = config.dynamic_batching !== undefined;
  const baseline: Knobs = {
    kind,
    count,
    batching,
    preferred: [...(config.dynamic_batching?.preferred_batch_size ?? [])].map(Number),
    delayUs: num(config.dynamic_batching?.max_queue_delay_microseconds),
    maxBatchSize: mbs,
  };
  const frozenNames = new Set(frozen.map((f) => f.knob));
  const free = new Set(KNOB_ORDER.filter((k) => !frozenNames.has(k)));
  return {
    model,
    config,
    baseline,
    free,
    frozen,
    declaredKind: declared,
    gpuAsCpu,
    caps: {
      count: Math.max(count, Math.min(COUNT_LADDER[COUNT_LADDER.length - 1], options.maxConcurrency)),
      maxBatchSize: Math.max(mbs, nextPow2(options.maxConcurrency)),
      delayUs: Math.max(baseline.delayUs, Math.floor((options.latencyBudgetMs * 1000) / 2)),
    },
    notes,
  };
}

/** The values a knob takes from `knobs`, in order; the current value is one of them. */
function ladder(knob: KnobName, knobs: Knobs, space: SearchSpace): unknown[] {
  const withCurrent = <T>(values: T[], current: T, same: (a: T, b: T) => boolean = (a, b) => a === b): T[] =>
    values.some((v) => same(v, current)) ? values : [...values, current];
  switch (knob) {
    case 'dynamic_batching':
      return [false, true];
    case 'instance_count':
      return withCurrent(COUNT_LADDER.filter((c) => c <= space.caps.count), knobs.count).sort((a, b) => a - b);
    case 'max_batch_size': {
      // Never below the built one (clients may send batches that large), doubling up to the cap.
      const values: number[] = [];
      for (let b = space.baseline.maxBatchSize; b <= space.caps.maxBatchSize; b *= 2) values.push(b);
      return withCurrent(values, knobs.maxBatchSize).sort((a, b) => a - b);
    }
    case 'max_queue_delay_microseconds':
      return withCurrent(DELAY_LADDER_US.filter((d) => d <= space.caps.delayUs), knobs.delayUs).sort((a, b) => a - b);
    case 'preferred_batch_size': {
      const values: number[][] = [];
      // [max_batch_size] is what Triton makes of no preferred sizes: one setting, not two.
      const isDefault = (v: number[]) => v.length === 0 || sameList(v, [knobs.maxBatchSize]);
      for (const v of [space.baseline.preferred, [], halfAndFull(knobs.maxBatchSize)]) {
        if (!v.every((s) => s <= knobs.maxBatchSize) || values.some((w) => sameList(w, v) || (isDefault(w) && isDefault(v)))) continue;
        values.push(v);
      }
      return withCurrent(values, knobs.preferred, sameList);
    }
    case 'instance_kind':
      return ['KIND_CPU', 'KIND_GPU'];
  }
}

/** The field of Knobs each knob sets. */
const KNOB_FIELD: Readonly<Record<KnobName, keyof Knobs>> = {
  dynamic_batching: 'batching',
  instance_count: 'count',
  max_batch_size: 'maxBatchSize',
  max_queue_delay_microseconds: 'delayUs',
  preferred_batch_size: 'preferred',
  instance_kind: 'kind',
};

function valueOf(knob: KnobName, k: Knobs): unknown {
  return k[KNOB_FIELD[knob]];
}

function withValue(knob: KnobName, k: Knobs, value: unknown): Knobs {
  if (knob === 'max_batch_size') {
    const maxBatchSize = value as number;
    // Preferred sizes that followed the old max_batch_size follow the new one.
    const preferred = sameList(k.preferred, halfAndFull(k.maxBatchSize)) && k.preferred.length > 0 ? halfAndFull(maxBatchSize) : k.preferred;
    return { ...k, maxBatchSize, preferred };
  }
  return { ...k, [KNOB_FIELD[knob]]: value };
}

function sameList(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Knobs that only mean something with the batcher on. */
const NEEDS_BATCHING: ReadonlySet<KnobName> = new Set(['max_batch_size', 'max_queue_delay_microseconds', 'preferred_batch_size']);

/**
 * One step of one knob from `knobs`: the next value up or down its ladder, or undefined where the
 * knob is frozen, means nothing (delay without the batcher), or is at the end of its ladder.
 */
export function step(knob: KnobName, direction: 'up' | 'down', knobs: Knobs, space: SearchSpace): Knobs | undefined {
  if (!space.free.has(knob)) return undefined;
  if (NEEDS_BATCHING.has(knob) && !knobs.batching) return undefined;
  const values = ladder(knob, knobs, space);
  const current = valueOf(knob, knobs);
  const at = values.findIndex((v) => JSON.stringify(v) === JSON.stringify(current));
  const next = values[direction === 'up' ? at + 1 : at - 1];
  return next === undefined ? undefined : withValue(knob, knobs, next);
}

/** A stable identity of a point (what has been measured). */
export function knobsKey(k: Knobs): string {
  // Settings of the batcher do not matter with the batcher off.
  const batching = k.batching ? `b${k.maxBatchSize}/p${k.preferred.join('.')}/d${k.delayUs}` : `nb${k.maxBatchSize}`;
  return `${k.kind}x${k.count}/${batching}`;
}

const KIND_WORD: Record<InstanceKind, string> = { KIND_CPU: 'CPU', KIND_GPU: 'GPU', KIND_MODEL: 'MODEL' };

/** `2×CPU, batching (max 16, preferred [8,16], delay 100 µs)` or `1×CPU, no batching`. */
export function describeKnobs(k: Knobs): string {
  const instances = `${k.count}×${KIND_WORD[k.kind]}`;
  if (!k.batching) return `${instances}, no batching`;
  const parts = [`max ${k.maxBatchSize}`];
  if (k.preferred.length > 0) parts.push(`preferred [${k.preferred.join(',')}]`);
  if (k.delayUs > 0) parts.push(`delay ${k.delayUs} µs`);
  return `${instances}, batching (${parts.join(', ')})`;
}

/** What moved from `from` to `to`, in words: `instance count 1 → 2`. */
export function describeChange(from: Knobs, to: Knobs): string {
  const words: string[] = [];
  if (from.batching !== to.batching) words.push(`dynamic batching ${to.batching ? 'on' : 'off'}`);
  if (from.count !== to.count) words.push(`instance count ${from.count} → ${to.count}`);
  if (from.kind !== to.kind) words.push(`instance kind ${KIND_WORD[from.kind]} → ${KIND_WORD[to.kind]}`);
  if (from.maxBatchSize !== to.maxBatchSize) words.push(`max_batch_size ${from.maxBatchSize} → ${to.maxBatchSize}`);
  if (to.batching && from.delayUs !== to.delayUs) words.push(`queue delay ${from.delayUs} → ${to.delayUs} µs`);
  if (to.batching && !sameList(from.preferred, to.preferred)) {
    words.push(`preferred sizes ${from.preferred.length ? `[${from.preferred.join(',')}]` : 'default'} → ${to.preferred.length ? `[${to.preferred.join(',')}]` : 'default'}`);
  }
  return words.join(', ') || 'none';
}

/**
 * The config to load for a point: the built config with the knobs set. Instance groups keep their
 * other fields; a KIND_GPU group measured on CPU loses its `gpus`.
 */
export function candidateConfig(space: SearchSpace, k: Knobs): ModelConfig {
  const config: ModelConfig = structuredClone(space.config);
  config.name = space.model;
  const groups = config.instance_group ?? [];
  if (space.gpuAsCpu) {
    for (const g of groups) {
      if (g.kind === 'KIND_GPU') {
        g.kind = 'KIND_CPU';
        delete g.gpus;
      }
    }
  }
  if (space.free.has('instance_count') || space.free.has('instance_kind')) {
    const group = groups[0] ?? {};
    group.count = k.count;
    if (space.free.has('instance_kind')) {
      group.kind = k.kind;
      if (k.kind === 'KIND_CPU') delete group.gpus;
    }
    config.instance_group = [group, ...groups.slice(1)];
  }
  if (space.baseline.maxBatchSize > 0) config.max_batch_size = k.maxBatchSize;
  if (k.batching) {
    const batching = { ...(config.dynamic_batching ?? {}) };
    if (k.preferred.length > 0) batching.preferred_batch_size = k.preferred;
    else delete batching.preferred_batch_size;
    if (k.delayUs > 0) batching.max_queue_delay_microseconds = k.delayUs;
    else delete batching.max_queue_delay_microseconds;
    config.dynamic_batching = batching;
  } else {
    delete config.dynamic_batching;
  }
  return config;
}
