import { protoEnumNames } from '../../../proto/model-config';

/** One broken rule: where in the config (`input[0].dims`, `1/model.onnx`) and why. */
export interface Problem {
  path: string;
  message: string;
  /** Triton loads the model anyway (the real server says so: test/agreement): reported, exit 0. */
  warning?: true;
}

/**
 * The rules take the typed ModelConfig (lib/model-config/generated.ts) as parsePbtxt or lib/config
 * give it: proto3 defaults left out (absent reads as 0, "", false or the enum's first value), 64-bit
 * integers as numbers or, beyond 2^53, decimal strings (read with Number()), and an enum number the
 * proto does not name kept as that number (proto3 enums are open).
 */

/** The names of the tensors that have one (a nameless tensor is reported by ValidateIOShape). */
export function tensorNames(tensors: ReadonlyArray<{ name?: string }> | undefined): string[] {
  return (tensors ?? []).flatMap((t) => (t.name ? [t.name] : []));
}

/**
 * An enum field by its name: absent is the enum's first value (proto3 leaves the default out), and a
 * number the proto does not name (open enums) stays that number, as text.
 */
export function enumValue(v: string | number | undefined, enumName: string): string {
  return v === undefined ? protoEnumNames(enumName)[0] : typeof v === 'number' ? (protoEnumNames(enumName)[v] ?? String(v)) : v;
}


/** `[1, -1, 3]` as Triton prints dims. */
export function dimsText(dims: number[]): string {
  return `[${dims.join(',')}]`;
}
