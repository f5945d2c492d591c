import { protoEnumNames } from '../../../proto/model-config';
import type { ModelConfig } from '../../types';

/** One broken rule: where in the config (`input[0].dims`, `1/model.onnx`) and why. */
export interface Problem {
  path: string;
  message: string;
  /** Triton loads the model anyway (the real server says so: test/agreement): reported, exit 0. */
  warning?: true;
}

/**
 * The rules take the typed ModelConfig (lib/model-config.generated.ts) as parsePbtxt or lib/config
 * give it. What that type still leaves open, these helpers read: 64-bit integers beyond 2^53 as
 * decimal strings, an enum number the proto does not name (proto3 enums are open: libprotobuf's
 * text parser takes `kind: 7`), proto3 defaults dropped (absent = 0, "", false), and a field of
 * the wrong shape in a config a rule is handed directly (read as absent, reported by its own rule).
 */
export function num(v: unknown, fallback = 0): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v))) return Number(v);
  return fallback;
}

export function list<T = unknown>(v: unknown): T[] {
  return Array.isArray(v) ? (v as T[]) : [];
}

/** The names of the tensors that have one (a nameless tensor is reported by ValidateIOShape). */
export function tensorNames(tensors: unknown): string[] {
  return list<{ name?: unknown }>(tensors).flatMap((t) => (typeof t.name === 'string' && t.name !== '' ? [t.name] : []));
}

export function obj(v: unknown): Record<string, unknown> | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

export function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/** An enum value by its Triton name: names pass through, numbers index `names`. */
export function enumName(v: unknown, names: readonly string[]): string {
  if (typeof v === 'number') return names[v] ?? `${v}`;
  if (typeof v === 'string') return v;
  return names[0];
}

/** `inference.DataType` by name, numbers decoded from proto/model_config.proto (not a copied list). */
export function dataType(v: unknown): string {
  return enumName(v, protoEnumNames('inference.DataType'));
}

/** Proto3 booleans: absent is false. */
export function flag(v: unknown): boolean {
  return v === true || v === 'true' || v === 1;
}

export function isTensorRt(config: ModelConfig): boolean {
  return config.platform === 'tensorrt_plan' || (!config.platform && config.backend === 'tensorrt');
}

export function isEnsemble(config: ModelConfig): boolean {
  return config.platform === 'ensemble';
}

/** `[1, -1, 3]` as Triton prints dims. */
export function dimsText(dims: number[]): string {
  return `[${dims.join(',')}]`;
}

/** A map field as entries, whether it came as an object or as a list of {key, value}. */
export function mapEntries(v: unknown): Array<[string, unknown]> {
  if (Array.isArray(v)) {
    return v.map((e) => [String((e as { key?: unknown }).key ?? ''), (e as { value?: unknown }).value]);
  }
  const o = obj(v);
  return o ? Object.entries(o) : [];
}
