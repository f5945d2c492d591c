import type { Node } from 'yaml';
import type { ExampleValues, ExportSpec, TensorRtSpec, TorchExport, VerifySpec } from '../types';
import { childPath, describe, isMap as isMapNode, isScalar, isSeq as isSeqNode, setOwn, SpecContext } from './context';
import { checkModelName } from './model-name';
import { checkProjectPath } from './paths';
import { checkTensorRt, checkTritonRelease } from './tensorrt';
import {
  checkKeys,
  expectBool,
  expectInt,
  expectList,
  expectMap,
  expectString,
  expectStringList,
  toPlain,
} from './values';

/** Top-level keys of the plugin: never written to config.pbtxt. */
export const PLUGIN_KEYS: ReadonlySet<string> = new Set(['version', 'previous_versions', 'export', 'from', 'tensorrt', 'verify', 'triton_release']);

export interface PluginValues {
  version?: number;
  previousVersions?: Record<string, string>;
  export?: ExportSpec;
  verify?: VerifySpec | false;
  from?: string;
  tensorrt?: TensorRtSpec;
  tritonRelease?: string;
}

export interface PluginOptions {
  /** Check that files named by the spec exist. */
  checkFiles: boolean;
}

const MAX_VERSION = Number.MAX_SAFE_INTEGER;

/** Checks the plugin keys among the top-level entries (`entries` maps key -> [node, path]). */
export function checkPluginKeys(
  ctx: SpecContext,
  entries: Map<string, { node: Node | null; path: string }>,
  options: PluginOptions,
): PluginValues {
  const out: PluginValues = {};
  const version = entries.get('version');
  if (version) out.version = expectInt(ctx, version.node, version.path, 1, MAX_VERSION, 'a positive integer');
  const previous = entries.get('previous_versions');
  if (previous) out.previousVersions = checkPreviousVersions(ctx, previous.node, previous.path, out.version ?? 1, options);
  const exp = entries.get('export');
  if (exp) out.export = checkExport(ctx, exp.node, exp.path, options);
  const verify = entries.get('verify');
  if (verify) {
    out.verify = checkVerify(ctx, verify.node, verify.path, options);
    if (!exp) ctx.error(verify.path, 'the fidelity gate checks an export: this model has no export: section');
  }
  const from = entries.get('from');
  if (from) {
    const name = expectString(ctx, from.node, from.path);
    const problem = name === undefined ? undefined : checkModelName(name);
    if (problem) ctx.error(from.path, problem);
    else out.from = name;
  }
  const trt = entries.get('tensorrt');
  if (trt) out.tensorrt = checkTensorRt(ctx, trt.node, trt.path);
  const release = entries.get('triton_release');
  if (release) out.tritonRelease = checkTritonRelease(ctx, release.node, release.path);
  return out;
}

function checkPreviousVersions(
  ctx: SpecContext,
  node: Node | null,
  path: string,
  version: number,
  options: PluginOptions,
): Record<string, string> | undefined {
  if (!expectMap(ctx, node, path)) return undefined;
  const out: Record<string, string> = {};
  for (const entry of ctx.entries(node, path)) {
    if (!/^[1-9][0-9]*$/.test(entry.key) || !Number.isSafeInteger(Number(entry.key))) {
      ctx.error(entry.path, `version ${JSON.stringify(entry.key)} must be a positive integer without leading zeros`);
      continue;
    }
    if (Number(entry.key) === version) {
      ctx.error(entry.path, `version ${entry.key} is the version this project builds (version: ${version}); pick another number`);
      continue;
    }
    const dir = checkProjectPath(ctx, entry.value, entry.path, { kind: 'directory', mustExist: options.checkFiles });
    if (dir !== undefined) out[entry.key] = dir;
  }
  return out;
}

const SOURCES = ['torch', 'command', 'file'];

function checkExport(ctx: SpecContext, node: Node | null, path: string, options: PluginOptions): ExportSpec | undefined {
  let result: ExportSpec | undefined;
  let chosen: string | undefined;
  const choose = (source: string, at: string, make: () => ExportSpec | undefined) => {
    if (chosen !== undefined) {
      ctx.error(at, `export takes exactly one of torch, command, file; "${chosen}" is already set`);
      return;
    }
    chosen = source;
    result = make();
  };
  const before = ctx.diagnostics.length;
  const ok = checkKeys(ctx, node, path, {
    torch: (value, at) => choose('torch', at, () => checkTorch(ctx, value, at, options)),
    command: (value, at) => choose('command', at, () => checkCommand(ctx, value, at)),
    file: (value, at) =>
      choose('file', at, () => {
        const file = checkProjectPath(ctx, value, at, { kind: 'file or directory', mustExist: options.checkFiles });
        return file === undefined ? undefined : { file };
      }),
  });
  if (ok && chosen === undefined && ctx.diagnostics.length === before) ctx.error(path, `export needs one of ${SOURCES.join(', ')}`);
  return result;
}

const PYTHON_REF = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

function checkTorch(ctx: SpecContext, node: Node | null, path: string, options: PluginOptions): ExportSpec | undefined {
  // `script` (torch.jit.script instead of tracing) is not in the shared TorchExport type yet.
  const torch: Partial<TorchExport & { script: boolean }> = {};
  let ok = true;
  const bad = () => (ok = false);
  const present = checkKeys(ctx, node, path, {
    model: (value, at) => {
      const ref = expectString(ctx, value, at);
      if (ref === undefined) return bad();
      if (!PYTHON_REF.test(ref)) {
        ctx.error(at, `expected "python.module:callable" (e.g. "net:build"), got ${JSON.stringify(ref)}`);
        return bad();
      }
      torch.model = ref;
    },
    kwargs: (value, at) => {
      if (!expectMap(ctx, value, at)) return bad();
      const before = ctx.diagnostics.length;
      const kwargs = toPlain(ctx, value, at) as Record<string, unknown>;
      if (ctx.diagnostics.length > before) return bad();
      torch.kwargs = kwargs;
    },
    checkpoint: (value, at) => {
      const file = checkProjectPath(ctx, value, at, { kind: 'file', mustExist: options.checkFiles });
      if (file === undefined) return bad();
      torch.checkpoint = file;
    },
    input_shapes: (value, at) => {
      const shapes = checkInputShapes(ctx, value, at);
      if (shapes === undefined) return bad();
      torch.input_shapes = shapes;
    },
    output_names: (value, at) => {
      const names = expectStringList(ctx, value, at);
      if (names === undefined) return bad();
      torch.output_names = names;
    },
    opset: (value, at) => {
      const opset = expectInt(ctx, value, at, 7, 21, 'an ONNX opset from 7 to 21');
      if (opset === undefined) return bad();
      torch.opset = opset;
    },
    script: (value, at) => {
      const script = expectBool(ctx, value, at);
      if (script === undefined) return bad();
      torch.script = script;
    },
    exporter: (value, at) => {
      const exporter = expectString(ctx, value, at);
      if (exporter === undefined) return bad();
      if (exporter !== 'dynamo' && exporter !== 'torchscript') {
        ctx.error(at, `expected dynamo or torchscript, got ${JSON.stringify(exporter)}`);
        return bad();
      }
      torch.exporter = exporter;
    },
    example_inputs: (value, at) => {
      const examples = checkExampleInputs(ctx, value, at, options);
      if (examples === undefined) return bad();
      torch.example_inputs = examples;
    },
  });
  if (!present) return undefined;
  if (torch.model === undefined && ok) {
    ctx.error(path, 'export.torch needs model: "python.module:callable"');
    return undefined;
  }
  return ok && torch.model !== undefined ? { torch: torch as TorchExport } : undefined;
}

const VALUE_RANGES = ['randint', 'uniform', 'normal'] as const;
const VALUES_EXPECTED = 'zeros, ones, { randint: [low, high] }, { uniform: [low, high] }, { normal: [mean, std] } or a .npy file';

/** `example_inputs: { <input>: zeros | ones | {randint|uniform|normal: [a, b]} | <file>.npy }`. */
function checkExampleInputs(ctx: SpecContext, node: Node | null, path: string, options: PluginOptions): Record<string, ExampleValues> | undefined {
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

function checkExampleValues(ctx: SpecContext, node: Node | null, path: string, options: PluginOptions): ExampleValues | undefined {
  if (isScalar(node) && (node.value === 'zeros' || node.value === 'ones')) return node.value;
  if (isScalar(node) && typeof node.value === 'string' && node.value.endsWith('.npy')) {
    const file = checkProjectPath(ctx, node, path, { kind: 'file', mustExist: options.checkFiles });
    return file === undefined ? undefined : { npy: file };
  }
  const entries = isMapNode(node) ? ctx.entries(node, path) : [];
  const kind = entries.length === 1 ? VALUE_RANGES.find((k) => k === entries[0].key) : undefined;
  if (!kind) {
    ctx.error(path, `expected ${VALUES_EXPECTED}, got ${describe(node)}`);
    return undefined;
  }
  const at = entries[0].path;
  const pair = isSeqNode(entries[0].value) ? ctx.items(entries[0].value, at).map((i) => scalarNumber(i.node)) : [];
  const numbers = pair.filter((v): v is number => v !== undefined);
  const [a, b] = numbers;
  const why =
    pair.length !== 2 || numbers.length !== 2
      ? 'expected a list of two numbers'
      : kind === 'randint' && (!Number.isInteger(a) || !Number.isInteger(b) || a >= b)
        ? 'expected two integers [low, high] with low < high (high is excluded)'
        : kind === 'uniform' && a >= b
          ? 'expected [low, high] with low < high'
          : kind === 'normal' && b < 0
            ? 'expected [mean, std] with std >= 0'
            : undefined;
  if (why) {
    ctx.error(at, `${why}, got ${describe(entries[0].value)}`);
    return undefined;
  }
  return { [kind]: [a, b] } as ExampleValues;
}

/** A finite YAML number (integers may be parsed as bigint), else undefined. */
function scalarNumber(node: Node | null): number | undefined {
  const v = isScalar(node) ? node.value : undefined;
  const n = typeof v === 'bigint' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) ? n : undefined;
}

/** `verify: false | true | { atol, rtol, batch_sizes, samples }`. */
function checkVerify(ctx: SpecContext, node: Node | null, path: string, options: PluginOptions): VerifySpec | false | undefined {
  if (isScalar(node) && typeof node.value === 'boolean') return node.value ? {} : false;
  const out: VerifySpec = {};
  const tolerance = (key: 'atol' | 'rtol') => (value: Node | null, at: string) => {
    const v = scalarNumber(value);
    if (v === undefined || v < 0) ctx.error(at, `expected a number >= 0, got ${describe(value)}`);
    else out[key] = v;
  };
  const present = checkKeys(ctx, node, path, {
    atol: tolerance('atol'),
    rtol: tolerance('rtol'),
    batch_sizes: (value, at) => {
      if (!expectList(ctx, value, at)) return;
      const sizes = ctx.items(value, at).map((i) => expectInt(ctx, i.node, i.path, 1, 2 ** 31 - 1, 'a positive batch size'));
      if (sizes.length === 0) ctx.error(at, 'expected at least one batch size');
      else if (sizes.every((n): n is number => n !== undefined)) out.batch_sizes = sizes;
    },
    samples: (value, at) => {
      const file = checkProjectPath(ctx, value, at, { kind: 'file', mustExist: options.checkFiles });
      if (file !== undefined) out.samples = file;
    },
  });
  return present ? out : undefined;
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

function checkCommand(ctx: SpecContext, node: Node | null, path: string): ExportSpec | undefined {
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
  return ok ? { command: argv } : undefined;
}
