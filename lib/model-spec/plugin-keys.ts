import type { Node } from 'yaml';
import { childPath, describe, isMap as isMapNode, isScalar, isSeq as isSeqNode, setOwn, SpecContext } from './context';
import { modelConfigRoot } from '../../proto/model-config';
import { checkFields, field, fieldSchemas, type CheckOptions, type Fields, type Values } from './keys';
import { resolveEnum } from './enums';
import { didYouMean, unknownKeyMessage } from './suggest';
import { checkModelName } from './model-name';
import { checkProjectPath } from './paths';
import { checkTensorRt, checkTritonRelease, TENSORRT_KEY_SCHEMA } from './tensorrt';
import { checkKeys, expectBool, expectInt, expectList, expectMap, expectString, expectStringList, toPlain } from './values';

/** The plugin keys: never written to config.pbtxt. Each is declared once, in the tables below. */

const positiveInt = { type: 'integer', minimum: 1 };
const twoNumbers = { type: 'array', items: { type: 'number' }, minItems: 2, maxItems: 2 };
const MAX_VERSION = Number.MAX_SAFE_INTEGER;

/** A plain relative path as written, for the plugin's file inputs (the summary filters what is not one). */
const asPath = (value: unknown): unknown[] => [value];

const PYTHON_REF = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

/** The data types an example tensor can have: those torch can feed (python/nxt_values.py DTYPES). */
export const EXAMPLE_DTYPES = ['TYPE_BOOL', 'TYPE_UINT8', 'TYPE_INT8', 'TYPE_INT16', 'TYPE_INT32', 'TYPE_INT64', 'TYPE_FP16', 'TYPE_BF16', 'TYPE_FP32', 'TYPE_FP64'] as const;
export type ExampleDtype = (typeof EXAMPLE_DTYPES)[number];

/** How the values of an example tensor are made. */
export type ExampleForm =
  | 'zeros'
  | 'ones'
  | 'padding_mask'
  | { constant: number }
  | { randint: [number, number] }
  | { uniform: [number, number] }
  | { normal: [number, number] }
  | { padding_mask: true }
  | { npy: string };

/**
 * `export.torch.example_inputs.<input>`: the values of its example tensor and, for a map form, the
 * `dtype` written with them (the tensor's type otherwise follows `input:`, the .npy, int64 for randint
 * and padding_mask, else fp32).
 */
export type ExampleValues = { values: ExampleForm; dtype?: ExampleDtype };

const PAIR_FORMS = ['randint', 'uniform', 'normal'] as const;
const MAP_FORMS = ['constant', ...PAIR_FORMS, 'padding_mask'] as const;
const VALUES_EXPECTED =
  'zeros, ones, padding_mask, { constant: n }, { randint: [low, high] }, { uniform: [low, high] }, { normal: [mean, std] } (each map may add dtype:) or a .npy file';

/** `export.torch.*`: a torch.nn.Module exported by python/export_torch.py. */
export const TORCH_FIELDS = {
  model: field({
    schema: {
      type: 'string',
      pattern: PYTHON_REF.source,
      description: '"python.module:callable" resolved from the project directory; called with kwargs, it returns a torch.nn.Module.',
    },
    check: (ctx, value, at): string | undefined => {
      const ref = expectString(ctx, value, at);
      if (ref === undefined) return undefined;
      if (PYTHON_REF.test(ref)) return ref;
      ctx.error(at, `expected "python.module:callable" (e.g. "net:build"), got ${JSON.stringify(ref)}`);
      return undefined;
    },
  }),
  kwargs: field({
    schema: { type: 'object', description: 'Keyword arguments passed to the callable.' },
    check: (ctx, value, at): Record<string, unknown> | undefined => {
      if (!expectMap(ctx, value, at)) return undefined;
      const before = ctx.diagnostics.length;
      const kwargs = toPlain(ctx, value, at) as Record<string, unknown>;
      return ctx.diagnostics.length > before ? undefined : kwargs;
    },
  }),
  checkpoint: field({
    schema: { type: 'string', description: 'A state_dict file in the project, loaded into the module before the export.' },
    check: (ctx, value, at, o): string | undefined => checkProjectPath(ctx, value, at, { kind: 'file', mustExist: o.checkFiles }),
    files: { role: 'export', paths: asPath },
  }),
  input_shapes: field({
    schema: {
      type: 'object',
      additionalProperties: { type: 'array', items: { anyOf: [{ type: 'integer', minimum: 1, maximum: 2 ** 31 - 1 }, { type: 'null' }] } },
      description: "Shapes of the example inputs by the name of forward()'s parameter; null is a dynamic dim, a leading null the batch dim.",
    },
    check: (ctx, value, at): Record<string, Array<number | null>> | undefined => checkInputShapes(ctx, value, at),
  }),
  output_names: field({
    schema: { type: 'array', items: { type: 'string', minLength: 1 }, description: 'Names of the exported outputs, in order.' },
    check: (ctx, value, at): string[] | undefined => expectStringList(ctx, value, at),
  }),
  opset: field({
    schema: { type: 'integer', minimum: 7, maximum: 21, description: 'The ONNX opset to export with.' },
    check: (ctx, value, at): number | undefined => expectInt(ctx, value, at, 7, 21, 'an ONNX opset from 7 to 21'),
  }),
  script: field({
    schema: { type: 'boolean', description: 'TorchScript by torch.jit.script instead of tracing (pytorch_libtorch).' },
    check: (ctx, value, at): boolean | undefined => expectBool(ctx, value, at),
  }),
  exporter: field({
    schema: {
      type: 'string',
      enum: ['dynamo', 'torchscript'],
      description: "Which torch ONNX exporter runs (default: the installed torch's own default: dynamo from torch 2.9, torchscript before).",
    },
    check: (ctx, value, at): 'dynamo' | 'torchscript' | undefined => {
      const exporter = expectString(ctx, value, at);
      if (exporter === undefined) return undefined;
      if (exporter === 'dynamo' || exporter === 'torchscript') return exporter;
      ctx.error(at, `expected dynamo or torchscript, got ${JSON.stringify(exporter)}`);
      return undefined;
    },
  }),
  example_inputs: field({
    schema: {
      type: 'object',
      additionalProperties: {
        anyOf: [
          { type: 'string', enum: ['zeros', 'ones', 'padding_mask'] },
          { type: 'string', pattern: '\\.npy$' },
          ...MAP_FORMS.map((form) => ({
            type: 'object',
            properties: {
              [form]: form === 'constant' ? { type: 'number' } : form === 'padding_mask' ? { const: true } : twoNumbers,
              dtype: { type: 'string', description: 'The tensor\'s type: a Triton data type (TYPE_INT64) or its shorthand (int64, fp16, bool, ...).' },
            },
            required: [form],
            additionalProperties: false,
          })),
        ],
      },
      description:
        'Values of the example tensors by input: zeros, ones, padding_mask (ones with a zero tail of random length per row), { constant: n }, { randint: [low, high] }, { uniform: [low, high] }, { normal: [mean, std] } (each map may add dtype:), or a .npy file in the project. Default: normal [0, 1] for floating types, ones for integer and bool types (padding_mask for one named like a mask).',
    },
    check: (ctx, value, at, o): Record<string, ExampleValues> | undefined => checkExampleInputs(ctx, value, at, o),
    files: { role: 'export', paths: (v) => (typeof v === 'object' && v !== null ? Object.values(v).filter((x) => typeof x === 'string' && x.endsWith('.npy')) : []) },
  }),
  input_names: field({
    schema: {
      type: 'array',
      items: { type: 'string', minLength: 1 },
      uniqueItems: true,
      description: "The names Triton sees for forward()'s parameters, in order (torch.onnx.export's input_names); input_shapes and example_inputs then use them.",
    },
    check: (ctx, value, at): string[] | undefined => {
      const names = expectStringList(ctx, value, at);
      if (!names) return undefined;
      const twice = names.find((n, i) => names.indexOf(n) !== i);
      if (twice !== undefined) {
        ctx.error(at, `"${twice}" is named twice`);
        return undefined;
      }
      return names.length > 0 ? names : (ctx.error(at, 'expected at least one name'), undefined);
    },
  }),
} satisfies Fields;

/** `export.torch` — its keys as TORCH_FIELDS checked them; `model` is required. */
export type TorchExport = Values<typeof TORCH_FIELDS> & { model: string };

/** `verify.*` — the fidelity gate after a torch export. */
export const VERIFY_FIELDS = {
  atol: field({
    schema: { type: 'number', minimum: 0, description: 'Absolute tolerance: an element fails when it exceeds both atol and rtol.' },
    check: (ctx, value, at): number | undefined => tolerance(ctx, value, at),
  }),
  rtol: field({
    schema: { type: 'number', minimum: 0, description: 'Relative tolerance: an element fails when it exceeds both atol and rtol.' },
    check: (ctx, value, at): number | undefined => tolerance(ctx, value, at),
  }),
  batch_sizes: field({
    schema: { type: 'array', items: positiveInt, description: 'Batch sizes to run (default: 1, the largest preferred batch size, max_batch_size).' },
    check: (ctx, value, at): number[] | undefined => {
      if (!expectList(ctx, value, at)) return undefined;
      const sizes = ctx.items(value, at).map((i) => expectInt(ctx, i.node, i.path, 1, 2 ** 31 - 1, 'a positive batch size'));
      if (sizes.length === 0) ctx.error(at, 'expected at least one batch size');
      else if (sizes.every((n): n is number => n !== undefined)) return sizes;
      return undefined;
    },
  }),
  dim_sizes: field({
    schema: {
      type: 'array',
      items: positiveInt,
      minItems: 2,
      description: 'The sizes every dynamic dim other than the batch dim runs at (default: 16 and 9); e.g. [9, 256] to run a sequence model at its longest too.',
    },
    check: (ctx, value, at): number[] | undefined => {
      if (!expectList(ctx, value, at)) return undefined;
      const sizes = ctx.items(value, at).map((i) => expectInt(ctx, i.node, i.path, 1, 2 ** 31 - 1, 'a positive size'));
      if (!sizes.every((n): n is number => n !== undefined)) return undefined;
      if (new Set(sizes).size < 2) {
        ctx.error(at, 'give two or more different sizes: a size baked into the graph shows only at another size');
        return undefined;
      }
      return sizes;
    },
  }),
  samples: field({
    schema: { type: 'string', description: 'Real inputs: an .npz in the project, one array per input name.' },
    check: (ctx, value, at, o): string | undefined => checkProjectPath(ctx, value, at, { kind: 'file', mustExist: o.checkFiles }),
    files: { role: 'export', paths: asPath },
  }),
} satisfies Fields;

/** `verify:` — the fidelity gate after a torch export (`false` turns it off). */
export type VerifySpec = Values<typeof VERIFY_FIELDS>;

/**
 * The export sources, one key each under `export:`; `python`: the result depends on the interpreter
 * (its versions join the export's cache key). A new source is one entry here, one module in
 * lib/export/sources/ (its `run`) and its line in that folder's registry.
 */
export const EXPORT_SOURCES = {
  torch: {
    python: true,
    ...field({
      schema: {
        type: 'object',
        required: ['model'],
        description: 'A torch.nn.Module, exported to ONNX (onnxruntime_onnx, tensorrt_plan) or TorchScript (pytorch_libtorch).',
      },
      check: (ctx, value, at, o): TorchExport | undefined => {
        const before = ctx.diagnostics.length;
        const torch = checkFields(ctx, value, at, TORCH_FIELDS, o);
        if (!torch) return undefined;
        if (torch.model === undefined) {
          if (ctx.diagnostics.length === before) ctx.error(at, 'export.torch needs model: "python.module:callable"');
          return undefined;
        }
        return ctx.diagnostics.length === before ? (torch as TorchExport) : undefined;
      },
      fields: TORCH_FIELDS,
    }),
  },
  command: {
    python: true,
    ...field({
      schema: {
        type: 'array',
        minItems: 1,
        items: { type: ['string', 'number'] },
        description:
          'Your own program as argv, run without a shell in the project directory; "{output}" in an argument is the path it must write, "{python}" the configured interpreter.',
      },
      check: (ctx, value, at): string[] | undefined => checkCommand(ctx, value, at),
    }),
  },
  file: {
    python: false,
    ...field({
      schema: { type: 'string', description: 'An existing model file or directory in the project.' },
      check: (ctx, value, at, o): string | undefined => checkProjectPath(ctx, value, at, { kind: 'file or directory', mustExist: o.checkFiles }),
      files: { role: 'export', paths: asPath },
    }),
  },
} satisfies Record<string, Fields[string] & { python: boolean }>;

/** An export source's name: the key under `export:`. */
export type ExportKind = keyof typeof EXPORT_SOURCES;

/** What each source's key holds, as its check gives it. */
export type ExportSources = { [K in ExportKind]: (typeof EXPORT_SOURCES)[K] extends { check: (...a: never[]) => infer T } ? NonNullable<T> : never };

/** `export:` — exactly one source. */
export type ExportSpec = { [K in ExportKind]: { [P in K]: ExportSources[P] } }[ExportKind];

export const EXPORT_KINDS = Object.keys(EXPORT_SOURCES) as ExportKind[];

/** The source an `export:` section names. */
export function exportKind(exp: ExportSpec): ExportKind {
  return EXPORT_KINDS.find((k) => k in exp) as ExportKind;
}

/** The top-level plugin keys. */
export const PLUGIN_FIELDS = {
  version: field({
    schema: { ...positiveInt, description: 'The version directory this project builds (default 1).' },
    check: (ctx, value, at): number | undefined => expectInt(ctx, value, at, 1, MAX_VERSION, 'a positive integer'),
  }),
  previous_versions: field({
    schema: {
      type: 'object',
      propertyNames: { pattern: '^[1-9][0-9]*$' },
      additionalProperties: { type: 'string' },
      description: 'Older versions kept as they are: { "<n>": <dir> }; the contents of each directory (relative to the project) become version directory <n>.',
    },
    check: (ctx, value, at, o): Record<string, string> | undefined => checkPreviousVersions(ctx, value, at, o),
    files: { role: 'build', paths: (v) => (typeof v === 'object' && v !== null ? Object.values(v) : []) },
  }),
  export: field({
    schema: { type: 'object', minProperties: 1, maxProperties: 1, description: 'How the model file is produced: exactly one of torch, command or file.' },
    check: (ctx, value, at, o): ExportSpec | undefined => checkExport(ctx, value, at, o),
    exportReads: true,
    fields: EXPORT_SOURCES,
  }),
  verify: field({
    schema: {
      type: ['boolean', 'object'],
      description:
        'The fidelity gate after the export: the exported model and the torch module run on the same seeded inputs and their outputs are compared (false turns it off).',
    },
    check: (ctx, value, at, o): VerifySpec | false | undefined => {
      if (isScalar(value) && typeof value.value === 'boolean') return value.value ? {} : false;
      return checkFields(ctx, value, at, VERIFY_FIELDS, o);
    },
    exportReads: true,
    fields: VERIFY_FIELDS,
  }),
  from: field({
    schema: {
      type: 'string',
      description: 'Take the ONNX file and the input/output configuration of another model project; keys in this file override. How a TensorRT model is made from an ONNX model.',
    },
    check: (ctx, value, at): string | undefined => {
      const name = expectString(ctx, value, at);
      const problem = name === undefined ? undefined : checkModelName(name);
      if (problem) ctx.error(at, problem);
      return problem ? undefined : name;
    },
    exportReads: true,
  }),
  tensorrt: field({
    schema: { type: 'object', description: 'Options of the TensorRT engine build (trtexec).' },
    check: (ctx, value, at) => checkTensorRt(ctx, value, at),
    schemas: TENSORRT_KEY_SCHEMA,
  }),
  triton_release: field({
    schema: {
      type: 'string',
      pattern: '^[0-9]{2}\\.[0-9]{2}$',
      description:
        'The Triton container release that serves the model (e.g. "24.08"); a TensorRT plan must be built by the TensorRT it ships, an ONNX model must have an IR version and opsets its ONNX Runtime loads (an unset export.torch.opset is chosen to fit).',
    },
    check: (ctx, value, at): string | undefined => checkTritonRelease(ctx, value, at),
    // An unset export.torch.opset is chosen to fit it.
    exportReads: true,
  }),
} satisfies Fields;

/** Top-level keys of the plugin: never written to config.pbtxt. */
export const PLUGIN_KEYS: ReadonlySet<string> = new Set(Object.keys(PLUGIN_FIELDS));

/** Each plugin key's editor schema by its dotted path (`export.torch.model`): the tables' own. */
export const PLUGIN_KEY_SCHEMA = fieldSchemas(PLUGIN_FIELDS);

export type PluginValues = Values<typeof PLUGIN_FIELDS>;

/** Checks the plugin keys among the top-level entries (`entries` maps key -> [node, path]), and the rules between them. */
export function checkPluginKeys(ctx: SpecContext, entries: Map<string, { node: Node | null; path: string }>, options: CheckOptions): PluginValues {
  const out: Record<string, unknown> = {};
  // In the table's order: `version` comes before `previous_versions`, which must not repeat it.
  for (const [k, f] of Object.entries(PLUGIN_FIELDS) as Array<[keyof typeof PLUGIN_FIELDS, (typeof PLUGIN_FIELDS)[keyof typeof PLUGIN_FIELDS]]>) {
    const entry = entries.get(k);
    if (!entry) continue;
    const check = f.check as (ctx: SpecContext, node: Node | null, at: string, o: CheckOptions) => unknown;
    const value = check(ctx, entry.node, entry.path, { ...options, version: (out.version as number | undefined) ?? 1 });
    if (value !== undefined) out[k] = value;
  }
  const values = out as PluginValues;
  const verify = entries.get('verify');
  if (verify && !entries.has('export')) ctx.error(verify.path, 'the fidelity gate checks an export: this model has no export: section');
  return values;
}

function checkPreviousVersions(ctx: SpecContext, node: Node | null, path: string, options: CheckOptions): Record<string, string> | undefined {
  if (!expectMap(ctx, node, path)) return undefined;
  const out: Record<string, string> = {};
  for (const entry of ctx.entries(node, path)) {
    if (!/^[1-9][0-9]*$/.test(entry.key) || !Number.isSafeInteger(Number(entry.key))) {
      ctx.error(entry.path, `version ${JSON.stringify(entry.key)} must be a positive integer without leading zeros`);
      continue;
    }
    if (Number(entry.key) === options.version) {
      ctx.error(entry.path, `version ${entry.key} is the version this project builds (version: ${options.version}); pick another number`);
      continue;
    }
    const dir = checkProjectPath(ctx, entry.value, entry.path, { kind: 'directory', mustExist: options.checkFiles });
    if (dir !== undefined) out[entry.key] = dir;
  }
  return out;
}

function checkExport(ctx: SpecContext, node: Node | null, path: string, options: CheckOptions): ExportSpec | undefined {
  let result: ExportSpec | undefined;
  let chosen: string | undefined;
  const before = ctx.diagnostics.length;
  const handlers = Object.fromEntries(
    EXPORT_KINDS.map((kind) => [
      kind,
      (value: Node | null, at: string) => {
        if (chosen !== undefined) {
          ctx.error(at, `export takes exactly one of ${EXPORT_KINDS.join(', ')}; "${chosen}" is already set`);
          return;
        }
        chosen = kind;
        const checked = (EXPORT_SOURCES[kind].check as (ctx: SpecContext, node: Node | null, at: string, o: CheckOptions) => unknown)(ctx, value, at, options);
        if (checked !== undefined) result = { [kind]: checked } as ExportSpec;
      },
    ]),
  );
  const ok = checkKeys(ctx, node, path, handlers);
  if (ok && chosen === undefined && ctx.diagnostics.length === before) ctx.error(path, `export needs one of ${EXPORT_KINDS.join(', ')}`);
  return result;
}

/** `example_inputs: { <input>: <form> }`. */
function checkExampleInputs(ctx: SpecContext, node: Node | null, path: string, options: CheckOptions): Record<string, ExampleValues> | undefined {
  if (!expectMap(ctx, node, path)) return undefined;
  const out: Record<string, ExampleValues> = {};
  let ok = true;
  for (const entry of ctx.entries(node, path)) {
    const values = checkExampleValues(ctx, entry.value, entry.path, options);
    if (values === undefined) ok = false;
    else setOwn(out, entry.key, values);
  }
  return ok ? out : undefined;
}

function checkExampleValues(ctx: SpecContext, node: Node | null, path: string, options: CheckOptions): ExampleValues | undefined {
  if (isScalar(node) && (node.value === 'zeros' || node.value === 'ones' || node.value === 'padding_mask')) return { values: node.value };
  if (isScalar(node) && typeof node.value === 'string' && node.value.endsWith('.npy')) {
    const file = checkProjectPath(ctx, node, path, { kind: 'file', mustExist: options.checkFiles });
    return file === undefined ? undefined : { values: { npy: file } };
  }
  const entries = isMapNode(node) ? ctx.entries(node, path) : [];
  const forms = entries.filter((e) => (MAP_FORMS as readonly string[]).includes(e.key));
  const other = entries.find((e) => e.key !== 'dtype' && !(MAP_FORMS as readonly string[]).includes(e.key));
  if (forms.length === 1 && other) {
    ctx.error(other.path, unknownKeyMessage(other.key, [forms[0].key, 'dtype']));
    return undefined;
  }
  if (forms.length !== 1) {
    ctx.error(path, `expected ${VALUES_EXPECTED}, got ${describe(node)}`);
    return undefined;
  }
  const [form] = forms;
  const dtypeEntry = entries.find((e) => e.key === 'dtype');
  const dtype = dtypeEntry ? checkExampleDtype(ctx, dtypeEntry.value, dtypeEntry.path) : undefined;
  if (dtypeEntry && dtype === undefined) return undefined;
  const values = checkForm(ctx, form.key as (typeof MAP_FORMS)[number], form.value, form.path);
  if (values === undefined) return undefined;
  return dtype === undefined ? { values } : { values, dtype };
}

function checkForm(ctx: SpecContext, form: (typeof MAP_FORMS)[number], node: Node | null, at: string): ExampleForm | undefined {
  if (form === 'constant') {
    const n = scalarNumber(node);
    if (n === undefined) ctx.error(at, `expected a number, got ${describe(node)}`);
    return n === undefined ? undefined : { constant: n };
  }
  if (form === 'padding_mask') {
    if (isScalar(node) && node.value === true) return { padding_mask: true };
    ctx.error(at, `expected true (or write padding_mask alone), got ${describe(node)}`);
    return undefined;
  }
  const pair = isSeqNode(node) ? ctx.items(node, at).map((i) => scalarNumber(i.node)) : [];
  const numbers = pair.filter((v): v is number => v !== undefined);
  const [a, b] = numbers;
  const why =
    pair.length !== 2 || numbers.length !== 2
      ? 'expected a list of two numbers'
      : form === 'randint' && (!Number.isInteger(a) || !Number.isInteger(b) || a >= b)
        ? 'expected two integers [low, high] with low < high (high is excluded)'
        : form === 'uniform' && a >= b
          ? 'expected [low, high] with low < high'
          : form === 'normal' && b < 0
            ? 'expected [mean, std] with std >= 0'
            : undefined;
  if (why) {
    ctx.error(at, `${why}, got ${describe(node)}`);
    return undefined;
  }
  return { [form]: [a, b] } as ExampleForm;
}

/** `dtype:` of an example tensor: a Triton data type or its shorthand, one that torch can feed. */
function checkExampleDtype(ctx: SpecContext, node: Node | null, at: string): ExampleDtype | undefined {
  const written = expectString(ctx, node, at);
  if (written === undefined) return undefined;
  const name = resolveEnum(modelConfigRoot().lookupEnum('inference.DataType'), written);
  if (name && (EXAMPLE_DTYPES as readonly string[]).includes(name)) return name as ExampleDtype;
  const short = EXAMPLE_DTYPES.map((t) => t.slice('TYPE_'.length).toLowerCase());
  ctx.error(at, `${name ? `${name} cannot be fed to a torch model` : `unknown data type ${JSON.stringify(written)}`} (expected one of ${short.join(', ')})${didYouMean(written, short)}`);
  return undefined;
}

/** A finite YAML number (integers may be parsed as bigint), else undefined. */
function scalarNumber(node: Node | null): number | undefined {
  const v = isScalar(node) ? node.value : undefined;
  const n = typeof v === 'bigint' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) ? n : undefined;
}

function tolerance(ctx: SpecContext, node: Node | null, at: string): number | undefined {
  const v = scalarNumber(node);
  if (v !== undefined && v >= 0) return v;
  ctx.error(at, `expected a number >= 0, got ${describe(node)}`);
  return undefined;
}

function checkInputShapes(ctx: SpecContext, node: Node | null, path: string): Record<string, Array<number | null>> | undefined {
  if (!expectMap(ctx, node, path)) return undefined;
  const out: Record<string, Array<number | null>> = {};
  let ok = true;
  for (const entry of ctx.entries(node, path)) {
    if (!expectList(ctx, entry.value, entry.path)) {
      ok = false;
      continue;
    }
    const dims: Array<number | null> = [];
    for (const item of ctx.items(entry.value, entry.path)) {
      if (isScalar(item.node) && item.node.value === null) dims.push(null);
      else {
        const d = expectInt(ctx, item.node, item.path, 1, 2 ** 31 - 1, 'a positive integer or null (a dynamic dim)');
        if (d === undefined) ok = false;
        else dims.push(d);
      }
    }
    setOwn(out, entry.key, dims);
  }
  return ok ? out : undefined;
}

function checkCommand(ctx: SpecContext, node: Node | null, path: string): string[] | undefined {
  if (isScalar(node) && typeof node.value === 'string') {
    ctx.error(path, 'must be a list of arguments (argv), not a shell string');
    return undefined;
  }
  if (!expectList(ctx, node, path)) return undefined;
  const argv: string[] = [];
  let ok = true;
  for (const item of ctx.items(node, path)) {
    const v = isScalar(item.node) ? item.node.value : undefined;
    // Numbers are taken as written (`--epochs, 3`): an argv is text.
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint') {
      argv.push(typeof v === 'string' ? v : ((item.node as { source?: string }).source ?? String(v)));
    } else {
      ctx.error(item.path, `expected a string argument, got ${describe(item.node)}`);
      ok = false;
    }
  }
  if (ok && argv.length === 0) {
    ctx.error(path, 'export.command needs at least the program to run');
    return undefined;
  }
  if (ok && argv[0] === '') {
    ctx.error(childPath(path, 0), 'the program to run cannot be empty');
    return undefined;
  }
  return ok ? argv : undefined;
}
