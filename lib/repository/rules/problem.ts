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
 * Configs reach the rules as plain objects from YAML or from a text-format parse, so enums may
 * be names or numbers and 64-bit integers may be decimal strings. These helpers read both.
 */
export function num(v: unknown, fallback = 0): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v))) return Number(v);
  if (typeof v === 'bigint') return Number(v);
  if (v && typeof v === 'object' && 'low' in v && 'high' in v) {
    const long = v as { low: number; high: number; unsigned?: boolean };
    return long.high * 2 ** 32 + (long.low >>> 0);
  }
  return fallback;
}

export function list<T = unknown>(v: unknown): T[] {
  return Array.isArray(v) ? (v as T[]) : [];
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
