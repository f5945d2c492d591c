import type { Node } from 'yaml';
import type { ExportSpec, TensorRtSpec, TorchExport } from '../types';
import { childPath, describe, isScalar, setOwn, SpecContext } from './context';
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
export const PLUGIN_KEYS: ReadonlySet<string> = new Set(['version', 'previous_versions', 'export', 'from', 'tensorrt', 'triton_release']);

export interface PluginValues {
  version?: number;
  previousVersions?: Record<string, string>;
  export?: ExportSpec;
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
  });
  if (!present) return undefined;
  if (torch.model === undefined && ok) {
    ctx.error(path, 'export.torch needs model: "python.module:callable"');
    return undefined;
  }
  return ok && torch.model !== undefined ? { torch: torch as TorchExport } : undefined;
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
