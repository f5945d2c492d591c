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

/** `a.b`, `a["8.6"]`, `a[0]`: a key path as messages show it. */
export function childPath(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) return path ? `${path}.${key}` : key;
  return `${path}[${JSON.stringify(key)}]`;
}

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

/**
 * Why `model_warmup[].inputs[].input_data_file` cannot be used, or undefined: Triton reads it from
 * `<model>/warmup/<file>` (core backend_model_instance.cc, GenerateWarmupData: JoinPath(model path,
 * kWarmupDataFolder, input_data_file)), and nx-triton writes it there. One check for the import and
 * the build (issue 22, N18: the import took "../labels.txt", the build refused it).
 */
export function warmupFileProblem(file: string): string | undefined {
  const why =
    file.includes('\0')
      ? 'it contains a NUL character'
      : file.startsWith('/') || file.startsWith('\\') || /^[A-Za-z]:/.test(file)
        ? 'it is an absolute path'
        : file.split(/[/\\]/).includes('..')
          ? 'it goes up with ".."'
          : file.split(/[/\\]/).every((p) => p === '' || p === '.')
            ? 'it names no file'
            : undefined;
  return why && `${JSON.stringify(file)} cannot be used: ${why} (Triton reads warm-up data from the model's warmup/ directory)`;
}

/** The warm-up data files a config names: each `input_data_file` with its key path. */
export function warmupFiles(config: Pick<ModelConfig, 'model_warmup'>): Array<{ path: string; file: string }> {
  const out: Array<{ path: string; file: string }> = [];
  for (const [i, w] of (config.model_warmup ?? []).entries()) {
    for (const [input, data] of Object.entries(w.inputs ?? {})) {
      const file = data?.input_data_file;
      if (typeof file === 'string' && file !== '') out.push({ path: `${childPath(childPath(`model_warmup[${i}]`, 'inputs'), input)}.input_data_file`, file });
    }
  }
  return out;
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
