import type { Enum } from 'protobufjs';

/**
 * Enum values are written by their Triton names (`TYPE_FP32`, `KIND_GPU`) or by a shorthand,
 * matched case-insensitively:
 *  - the name itself (`type_fp32`);
 *  - the name without the prefix all values of its enum share, cut at an underscore
 *    (`fp32`, `gpu`, `nchw`, `start`, `corrid`, `element_count`); an enum with a single value
 *    drops its first word (`nvdla`, `scatter_with_input_shape`);
 *  - for DataType, the common names of other frameworks listed in DATA_TYPE_ALIASES.
 */
const DATA_TYPE_ALIASES: Record<string, string> = {
  float: 'TYPE_FP32',
  float32: 'TYPE_FP32',
  float16: 'TYPE_FP16',
  half: 'TYPE_FP16',
  float64: 'TYPE_FP64',
  double: 'TYPE_FP64',
  bfloat16: 'TYPE_BF16',
  bytes: 'TYPE_STRING',
};

export interface EnumForms {
  /** Triton names in declaration order. */
  names: string[];
  /** Lower-case shorthand -> Triton name. */
  shorthands: Map<string, string>;
}

const cache = new WeakMap<Enum, EnumForms>();

function sharedPrefix(names: string[]): string {
  if (names.length === 1) {
    const cut = names[0].indexOf('_');
    return cut > 0 && cut < names[0].length - 1 ? names[0].slice(0, cut + 1) : '';
  }
  let prefix = names[0];
  for (const n of names) while (!n.startsWith(prefix)) prefix = prefix.slice(0, -1);
  const cut = prefix.lastIndexOf('_');
  return cut >= 0 ? prefix.slice(0, cut + 1) : '';
}

export function enumForms(type: Enum): EnumForms {
  let forms = cache.get(type);
  if (forms) return forms;
  const names = Object.keys(type.values);
  const prefix = sharedPrefix(names);
  const shorthands = new Map<string, string>();
  for (const n of names) shorthands.set(n.slice(prefix.length).toLowerCase(), n);
  if (type.name === 'DataType') for (const [alias, n] of Object.entries(DATA_TYPE_ALIASES)) shorthands.set(alias, n);
  forms = { names, shorthands };
  cache.set(type, forms);
  return forms;
}

/** The Triton name that `written` stands for, or undefined. */
export function resolveEnum(type: Enum, written: string): string | undefined {
  const { names, shorthands } = enumForms(type);
  const lower = written.toLowerCase();
  return names.find((n) => n.toLowerCase() === lower) ?? shorthands.get(lower);
}

/** `unknown value "gpuu" (expected one of KIND_AUTO, KIND_GPU, KIND_CPU, KIND_MODEL or auto, gpu, cpu, model)`. */
export function unknownEnumMessage(type: Enum, written: string): string {
  const { names } = enumForms(type);
  const prefix = sharedPrefix(names);
  const short = names.map((n) => n.slice(prefix.length).toLowerCase());
  const shown = written.length > 60 ? `${written.slice(0, 57)}...` : written;
  return `unknown value ${JSON.stringify(shown)} (expected one of ${names.join(', ')} or ${short.join(', ')})`;
}
