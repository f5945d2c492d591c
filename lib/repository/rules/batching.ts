import { protoEnumNames } from '../../../proto/model-config';
import type { ModelQueuePolicy } from '../../model-config/generated';
import type { ModelConfig } from '../../model-config';
import type { Problem } from './problem';
import { enumValue, tensorNames } from './problem';

/** Enums of proto/model_config.proto by name, read from the .proto rather than copied. */
const batchInputKinds = (): readonly string[] => protoEnumNames('inference.BatchInput.Kind');
const batchOutputKinds = (): readonly string[] => protoEnumNames('inference.BatchOutput.Kind');


/** Triton's ValidateBatchIO. */
export function checkBatchIO(config: ModelConfig): Problem[] {
  const problems: Problem[] = [];
  const inputs = new Set(tensorNames(config.input));
  const outputs = new Set(tensorNames(config.output));

  (config.batch_input ?? []).forEach((b, i) => {
    const at = `batch_input[${i}]`;
    const kind = enumValue(b.kind, 'inference.BatchInput.Kind');
    if (!batchInputKinds().includes(kind)) {
      problems.push({ path: `${at}.kind`, message: `unknown batch input kind '${kind}'` });
    }
    const sources = b.source_input ?? [];
    if (sources.length !== 1) {
      problems.push({ path: `${at}.source_input`, message: `batch input kind '${kind}' expects 1 source input, got ${sources.length}` });
    }
    const type = enumValue(b.data_type, 'inference.DataType');
    if (type !== 'TYPE_INT32' && type !== 'TYPE_FP32') {
      problems.push({ path: `${at}.data_type`, message: `batch input data type must be TYPE_INT32 or TYPE_FP32, got ${type}` });
    }
    sources.forEach((s, j) => {
      if (!inputs.has(s)) problems.push({ path: `${at}.source_input[${j}]`, message: `unknown source input name '${s}'` });
    });
  });

  (config.batch_output ?? []).forEach((b, i) => {
    const at = `batch_output[${i}]`;
    const kind = enumValue(b.kind, 'inference.BatchOutput.Kind');
    if (!batchOutputKinds().includes(kind)) {
      problems.push({ path: `${at}.kind`, message: `unknown batch output kind '${kind}'` });
    }
    const sources = b.source_input ?? [];
    if (sources.length !== 1) {
      problems.push({ path: `${at}.source_input`, message: `batch output kind '${kind}' expects 1 source input, got ${sources.length}` });
    }
    sources.forEach((s, j) => {
      if (!inputs.has(s)) problems.push({ path: `${at}.source_input[${j}]`, message: `unknown source input name '${s}'` });
    });
    const targets = new Set<string>();
    (b.target_name ?? []).forEach((t, j) => {
      if (!outputs.has(t)) problems.push({ path: `${at}.target_name[${j}]`, message: `unknown target output name '${t}'` });
      if (targets.has(t)) problems.push({ path: `${at}.target_name[${j}]`, message: `target output name '${t}' can only be specified once` });
      targets.add(t);
    });
  });
  return problems;
}

function delaysWithTimeout(p: ModelQueuePolicy | undefined): boolean {
  return !!p && enumValue(p.timeout_action, 'inference.ModelQueuePolicy.TimeoutAction') === 'DELAY' && Number(p.default_timeout_microseconds ?? 0) !== 0;
}

export function checkDynamicBatching(config: ModelConfig): Problem[] {
  const db = config.dynamic_batching;
  if (!db) return [];
  const problems: Problem[] = [];
  const maxBatch = config.max_batch_size ?? 0;
  (db.preferred_batch_size ?? []).forEach((size, i) => {
    const at = `dynamic_batching.preferred_batch_size[${i}]`;
    if (size <= 0) problems.push({ path: at, message: `preferred batch size must be positive, got ${size}` });
    else if (size > maxBatch) problems.push({ path: at, message: `preferred batch size ${size} exceeds max_batch_size ${maxBatch}` });
  });

  const levels = Number(db.priority_levels ?? 0);
  const policies = Object.entries(db.priority_queue_policy ?? {});
  if (levels !== 0) {
    const level = Number(db.default_priority_level ?? 0);
    if (level < 1 || level > levels) {
      problems.push({
        path: 'dynamic_batching.default_priority_level',
        message: `default priority level must be in range [1, ${levels}], got ${level}`,
      });
    }
    for (const [key] of policies) {
      const k = Number(key);
      if (!(k >= 1 && k <= levels)) {
        problems.push({
          path: `dynamic_batching.priority_queue_policy[${key}]`,
          message: `priority queue policy must have priority level in range [1, ${levels}], got ${key}`,
        });
      }
    }
  }

  if (db.preserve_ordering) {
    if (levels > 1) {
      problems.push({ path: 'dynamic_batching.priority_levels', message: `only one priority level is allowed when 'preserve_ordering' is true, got ${levels}` });
    }
    if (delaysWithTimeout(db.default_queue_policy)) {
      problems.push({
        path: 'dynamic_batching.default_queue_policy.timeout_action',
        message: "queue policy can not have DELAY as timeout action when 'preserve_ordering' is true",
      });
    }
    for (const [key, policy] of policies) {
      if (delaysWithTimeout(policy)) {
        problems.push({
          path: `dynamic_batching.priority_queue_policy[${key}].timeout_action`,
          message: "queue policy can not have DELAY as timeout action when 'preserve_ordering' is true",
        });
      }
    }
  }
  return problems;
}

/** `dynamic_batching`, `sequence_batching`, `ensemble_scheduling` are one protobuf oneof. */
export function checkSchedulingChoice(config: ModelConfig): Problem[] {
  const set = (['dynamic_batching', 'sequence_batching', 'ensemble_scheduling'] as const).filter((k) => config[k] !== undefined && config[k] !== null);
  if (set.length < 2) return [];
  return [{ path: set[1], message: `only one of dynamic_batching, sequence_batching, ensemble_scheduling may be set, got ${set.join(' and ')}` }];
}

export function checkResponseCache(config: ModelConfig): Problem[] {
  if (!config.response_cache?.enable) return [];
  const problems: Problem[] = [];
  if (config.sequence_batching !== undefined && config.sequence_batching !== null) {
    problems.push({ path: 'response_cache.enable', message: 'the response cache cannot be used with sequence batching' });
  }
  if (config.model_transaction_policy?.decoupled) {
    problems.push({ path: 'response_cache.enable', message: 'the response cache cannot be used with decoupled models' });
  }
  return problems;
}

export function checkVersionPolicy(config: ModelConfig): Problem[] {
  const policy = config.version_policy;
  if (!policy) return [];
  const problems: Problem[] = [];
  const chosen = (['latest', 'all', 'specific'] as const).filter((k) => policy[k] !== undefined && policy[k] !== null);
  if (chosen.length > 1) {
    problems.push({ path: 'version_policy', message: `only one of latest, all, specific may be set, got ${chosen.join(' and ')}` });
  }
  const latest = policy.latest;
  if (latest && (latest.num_versions ?? 0) < 1) {
    problems.push({ path: 'version_policy.latest.num_versions', message: `must be >= 1 (no version would load), got ${latest.num_versions ?? 0}` });
  }
  const specific = policy.specific;
  if (specific) {
    const versions = specific.versions ?? [];
    if (versions.length === 0) {
      problems.push({ path: 'version_policy.specific.versions', message: 'lists no versions, so no version would load' });
    }
    versions.forEach((v, i) => {
      if (!(Number(v) >= 1) || !Number.isInteger(Number(v))) {
        problems.push({ path: `version_policy.specific.versions[${i}]`, message: `version must be a positive integer, got ${v}; Triton loads the model, but never this version`, warning: true });
      }
    });
  }
  return problems;
}
