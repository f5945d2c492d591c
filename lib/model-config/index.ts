/**
 * An `inference.ModelConfig` as a plain object, the shape protobufjs' `Type.fromObject` takes,
 * generated from proto/model_config.proto (lib/model-config/generated.ts): keys spelled as in
 * config.pbtxt (snake_case), enums by their Triton names (`TYPE_FP32`), 64-bit integers as numbers
 * (decimal strings beyond 2^53), maps as objects, an empty message present as `{}`
 * (`dynamic_batching: {}` turns the batcher on).
 */
import type { ModelConfig, ModelInput, ModelOutput } from './generated';
export type { DataType, ModelConfig, ModelInput, ModelOutput } from './generated';

/**
 * An input or an output, as code that reads both sees it: the fields of either message (an
 * output has no `optional`, an input no `label_filename`; absent reads as undefined).
 */
export type ModelTensor = ModelInput & ModelOutput;

/**
 * obj[key] = value as an own property, also for a key such as "__proto__" (a legal map key in a
 * config: Triton's maps are map<string, ...>), which plain assignment would take as the prototype.
 */
export function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** `obj[key]` when `key` is obj's own property: never a name of Object.prototype (`constructor`, `toString`). */
export function ownValue<T>(obj: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

export function isEnsemble(config: Pick<ModelConfig, 'platform'>): boolean {
  return config.platform === 'ensemble';
}

/**
 * The inputs the sequence batcher feeds itself (control inputs and implicit state): never ordinary
 * inputs a client sends, though the model's graph has them.
 */
export function sequenceFedInputs(config: Pick<ModelConfig, 'sequence_batching'>): string[] {
  const sb = config.sequence_batching;
  if (!sb) return [];
  const controls = (sb.control_input ?? []).map((c) => c.name ?? '');
  const states = (sb.state ?? []).map((s) => s.input_name ?? '');
  return [...controls, ...states].filter(Boolean);
}
