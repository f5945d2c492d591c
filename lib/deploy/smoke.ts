import type { InferTensor } from '../triton/client';
import type { DataType, ModelConfig } from '../model-config';

/**
 * The one inference a deploy runs on each server after a load: the export's recorded sample
 * (`verify.json`'s `sample`: the fidelity gate's first case, its inputs and torch's outputs) where
 * there is one, else inputs made from the config's shapes. Either way the answer must have every
 * output the config declares, with its type and shape, and finite values; a recorded sample's
 * values must also match.
 */

/** Triton's HTTP datatype of a config data type (KServe v2 names). */
const WIRE: Partial<Record<DataType, string>> = {
  TYPE_BOOL: 'BOOL',
  TYPE_UINT8: 'UINT8',
  TYPE_UINT16: 'UINT16',
  TYPE_UINT32: 'UINT32',
  TYPE_UINT64: 'UINT64',
  TYPE_INT8: 'INT8',
  TYPE_INT16: 'INT16',
  TYPE_INT32: 'INT32',
  TYPE_INT64: 'INT64',
  TYPE_FP16: 'FP16',
  TYPE_FP32: 'FP32',
  TYPE_FP64: 'FP64',
  TYPE_STRING: 'BYTES',
  TYPE_BF16: 'BF16',
};

/** Element counts above this are not sent as JSON (the smoke check is then skipped with a line saying so). */
const MAX_ELEMENTS = 4 * 2 ** 20;

/** The gate's tolerances are for onnxruntime on this machine's CPU; a server may run another device or precision. */
export const SMOKE_TOLERANCE_FACTOR = 10;

/** `verify.json`'s `sample` (python/nxt_verify.py writes it): raw little-endian bytes, base64. */
export interface RecordedTensor {
  name: string;
  datatype: string;
  shape: number[];
  data: string;
  atol?: number;
  rtol?: number;
}
export interface RecordedSample {
  inputs: RecordedTensor[];
  outputs: RecordedTensor[];
}

export type SmokeCase =
  | { skip: string }
  | {
      /** For the log: where the inputs came from. */
      source: 'recorded sample' | 'config shapes';
      inputs: InferTensor[];
      parameters?: Record<string, unknown>;
      /** Why the answer is wrong, or undefined. */
      check: (outputs: InferTensor[]) => string | undefined;
    };

const TYPED: Record<string, { bytes: number; read: (b: Buffer, i: number) => number | boolean }> = {
  BOOL: { bytes: 1, read: (b, i) => b.readUInt8(i) !== 0 },
  UINT8: { bytes: 1, read: (b, i) => b.readUInt8(i) },
  INT8: { bytes: 1, read: (b, i) => b.readInt8(i) },
  UINT16: { bytes: 2, read: (b, i) => b.readUInt16LE(i) },
  INT16: { bytes: 2, read: (b, i) => b.readInt16LE(i) },
  UINT32: { bytes: 4, read: (b, i) => b.readUInt32LE(i) },
  INT32: { bytes: 4, read: (b, i) => b.readInt32LE(i) },
  UINT64: { bytes: 8, read: (b, i) => Number(b.readBigUInt64LE(i)) },
  INT64: { bytes: 8, read: (b, i) => Number(b.readBigInt64LE(i)) },
  FP16: { bytes: 2, read: (b, i) => halfToNumber(b.readUInt16LE(i)) },
  FP32: { bytes: 4, read: (b, i) => b.readFloatLE(i) },
  FP64: { bytes: 8, read: (b, i) => b.readDoubleLE(i) },
};

function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

/** The values of a recorded tensor, or a reason it cannot be used. */
export function decodeRecorded(t: RecordedTensor): Array<number | boolean> | string {
  const type = TYPED[t.datatype];
  if (!type) return `${t.name}: datatype ${t.datatype} cannot be sent as JSON`;
  const bytes = Buffer.from(t.data, 'base64');
  const count = t.shape.reduce((a, b) => a * b, 1);
  if (bytes.length !== count * type.bytes) return `${t.name}: ${bytes.length} bytes for shape [${t.shape.join(', ')}] of ${t.datatype}`;
  const out: Array<number | boolean> = [];
  for (let i = 0; i < count; i++) out.push(type.read(bytes, i * type.bytes));
  return out;
}

const isFloat = (datatype: string): boolean => datatype === 'FP16' || datatype === 'FP32' || datatype === 'FP64' || datatype === 'BF16';

function dimsOf(dims: Array<number | string> | undefined): number[] {
  return (dims ?? []).map((d) => Number(d));
}

/** Checks every declared output: present, of its type and shape (a -1 dim takes any size), finite. */
function checkDeclared(config: ModelConfig, outputs: InferTensor[], batch: number | undefined): string | undefined {
  const byName = new Map(outputs.map((o) => [o.name, o]));
  for (const declared of config.output ?? []) {
    const name = declared.name ?? '';
    const got = byName.get(name);
    if (!got) return `output ${name} is missing from the answer`;
    const datatype = declared.data_type ? WIRE[declared.data_type] : undefined;
    if (datatype && got.datatype !== datatype) return `output ${name} is ${got.datatype}, the config says ${datatype}`;
    const want = [...(batch === undefined ? [] : [batch]), ...dimsOf(declared.dims)];
    const ok = got.shape.length === want.length && want.every((d, i) => d < 0 || d === got.shape[i]);
    if (!ok) return `output ${name} has shape [${got.shape.join(', ')}], the config says [${want.join(', ')}]`;
    if (isFloat(got.datatype)) {
      const bad = (got.data as unknown[]).filter((v) => typeof v !== 'number' || !Number.isFinite(v)).length;
      if (bad > 0) return `output ${name} has ${bad} NaN or Inf value(s)`;
    }
  }
  return undefined;
}

/** Compares one output with its recorded values, as the fidelity gate does (an element fails above both atol and rtol x |recorded|). */
function compareRecorded(got: InferTensor, want: RecordedTensor, values: Array<number | boolean>): string | undefined {
  if (got.datatype !== want.datatype) return `output ${want.name} is ${got.datatype}, the export recorded ${want.datatype}`;
  if (got.shape.join(',') !== want.shape.join(',')) return `output ${want.name} has shape [${got.shape.join(', ')}], the export recorded [${want.shape.join(', ')}]`;
  const atol = (want.atol ?? 0) * SMOKE_TOLERANCE_FACTOR;
  const rtol = (want.rtol ?? 0) * SMOKE_TOLERANCE_FACTOR;
  let failing = 0;
  let worst = 0;
  got.data.forEach((v, i) => {
    const r = values[i];
    if (typeof r === 'boolean' || typeof v === 'boolean') {
      if (Boolean(v) !== Boolean(r)) failing++;
      return;
    }
    const a = Number(v);
    if (!Number.isFinite(a)) {
      failing++;
      return;
    }
    const err = Math.abs(a - r);
    worst = Math.max(worst, err);
    if (err > atol && err > rtol * Math.abs(r)) failing++;
  });
  if (failing > 0) return `output ${want.name} differs from the export's recorded output in ${failing} of ${values.length} element(s) (max abs error ${worst.toPrecision(3)}; atol ${atol}, rtol ${rtol})`;
  return undefined;
}

/** The smoke case for a model: from its recorded sample when it fits the config, else from the config's shapes. */
export function smokeCase(config: ModelConfig, sample?: RecordedSample): SmokeCase {
  if (config.model_transaction_policy?.decoupled) return { skip: 'a decoupled model answers over gRPC streams only' };
  const batch = (config.max_batch_size ?? 0) > 0 ? 1 : undefined;
  const sequence = config.sequence_batching ? { sequence_id: 1, sequence_start: true, sequence_end: true } : undefined;
  const inputs = config.input ?? [];
  if (inputs.some((i) => i.is_shape_tensor)) return { skip: 'shape tensors need values only the model knows' };
  const declared = new Set(inputs.map((i) => i.name));
  if (sample && sample.inputs.every((t) => declared.has(t.name)) && inputs.every((i) => i.optional || sample.inputs.some((t) => t.name === i.name))) {
    const decoded = sample.inputs.map((t) => ({ t, values: decodeRecorded(t) }));
    const outputs = sample.outputs.map((t) => ({ t, values: decodeRecorded(t) }));
    const bad = [...decoded, ...outputs].find((d) => typeof d.values === 'string');
    if (!bad) {
      return {
        source: 'recorded sample',
        inputs: decoded.map(({ t, values }) => ({ name: t.name, datatype: t.datatype, shape: t.shape, data: values as Array<number | boolean> })),
        ...(sequence ? { parameters: sequence } : {}),
        check: (got) => {
          const byName = new Map(got.map((o) => [o.name, o]));
          for (const { t, values } of outputs) {
            const o = byName.get(t.name);
            if (!o) return `output ${t.name} is missing from the answer`;
            const why = compareRecorded(o, t, values as Array<number | boolean>);
            if (why) return why;
          }
          return checkDeclared(config, got, sample.inputs[0]?.shape[0] ?? batch);
        },
      };
    }
  }
  const tensors: InferTensor[] = [];
  for (const input of inputs) {
    if (input.optional) continue;
    const datatype = input.data_type ? WIRE[input.data_type] : undefined;
    if (!datatype) return { skip: `input ${input.name} has no data type` };
    if (datatype === 'BF16') return { skip: `input ${input.name} is BF16, which Triton's JSON requests cannot carry` };
    const shape = [...(batch === undefined ? [] : [batch]), ...dimsOf(input.dims).map((d) => (d < 0 ? 1 : d))];
    const count = shape.reduce((a, b) => a * b, 1);
    if (count > MAX_ELEMENTS) return { skip: `input ${input.name} has ${count} elements` };
    const one = datatype === 'BOOL' ? true : datatype === 'BYTES' ? '1' : 1;
    tensors.push({ name: input.name ?? '', datatype, shape, data: new Array(count).fill(one) });
  }
  return { source: 'config shapes', inputs: tensors, ...(sequence ? { parameters: sequence } : {}), check: (got) => checkDeclared(config, got, batch) };
}
