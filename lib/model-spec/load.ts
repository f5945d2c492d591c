import { readFileSync, statSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { Node } from 'yaml';
import { modelConfigType } from '../../proto/model-config';
import { Diagnostic, SpecError } from '../errors';
import type { ModelConfig } from '../model-config';
import type { ModelSpec } from './types';
import { checkMessage } from './check-config';
import { describe, isMap, isNull, SpecContext, WalkAborted } from './context';
import { checkModelName } from './model-name';
import { isTensorRt } from '../platforms';
import { unknownPlatformMessage } from './platform';
import { checkPluginKeys, PLUGIN_KEYS } from './plugin-keys';
import { decodeSpec, MAX_SPEC_BYTES, parseYaml } from './yaml-source';

export interface LoadSpecOptions {
  /** The path shown in messages and kept as `spec.file` (e.g. `models/my_nn/triton.yaml`). */
  displayPath?: string;
  /** Check that files and directories the spec names exist (default true). */
  checkFiles?: boolean;
}

/** Reads and checks a triton.yaml; throws SpecError with every problem found. */
export function loadSpec(file: string, options: LoadSpecOptions = {}): ModelSpec {
  const display = options.displayPath ?? file;
  const abs = resolve(file);
  let bytes: Buffer;
  try {
    const size = statSync(abs).size;
    if (size > MAX_SPEC_BYTES) {
      throw new SpecError([{ file: display, line: 1, col: 1, path: '', message: `the file is ${size} bytes; a triton.yaml may be at most ${MAX_SPEC_BYTES} bytes (1 MiB)` }]);
    }
    bytes = readFileSync(abs);
  } catch (err) {
    if (err instanceof SpecError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (code ?? 'read error');
    throw new SpecError([{ file: display, path: '', message: `cannot read the file (${why})` }]);
  }
  return parseSpec(bytes, display, dirname(abs), options);
}

/**
 * Checks the text of a triton.yaml. `file` is the path shown in messages, `dir` the project
 * directory (the name defaults to its basename; relative paths are checked against it).
 */
export function parseSpec(text: string | Uint8Array, file: string, dir: string, options: LoadSpecOptions = {}): ModelSpec {
  const display = options.displayPath ?? file;
  const decoded = decodeSpec(text, display);
  if (typeof decoded !== 'string') throw new SpecError([decoded]);
  const parsed = parseYaml(decoded, display);
  if (Array.isArray(parsed)) throw new SpecError(parsed);
  const ctx = new SpecContext(display, resolve(dir), parsed.doc, parsed.lines);
  let spec: ModelSpec | undefined;
  try {
    spec = walk(ctx, parsed.doc.contents as Node | null, options.checkFiles ?? true);
  } catch (err) {
    if (!(err instanceof WalkAborted)) throw err;
  }
  if (ctx.diagnostics.length > 0 || !spec) throw new SpecError(sortByPlace(ctx.diagnostics));
  return spec;
}

function walk(ctx: SpecContext, contents: Node | null, checkFiles: boolean): ModelSpec | undefined {
  const root = ctx.resolve(contents);
  if (isNull(root)) {
    ctx.error('', 'the file is empty: expected keys such as "platform: onnxruntime_onnx"');
    return undefined;
  }
  if (!isMap(root)) {
    ctx.error('', `the top level must be a map of keys, got ${describe(root)}`, root);
    return undefined;
  }
  const plugin = new Map<string, { node: Node | null; path: string }>();
  const config = (checkMessage(ctx, modelConfigType(), root, '', {
    skip: PLUGIN_KEYS,
    onSkipped: (entry) => plugin.set(entry.key, { node: entry.value, path: entry.path }),
  }) ?? {}) as ModelConfig;
  const values = checkPluginKeys(ctx, plugin, { checkFiles });

  const name = modelName(ctx, config);
  checkCrossKeys(ctx, config, name, plugin, values.from);

  const spec: ModelSpec = {
    file: ctx.file,
    dir: ctx.dir,
    name,
    config: withName(config, name),
    version: values.version ?? 1,
    previousVersions: values.previous_versions ?? {},
    positions: ctx.positions,
  };
  if (values.export) spec.export = values.export;
  if (values.verify !== undefined) spec.verify = values.verify;
  if (values.from !== undefined) spec.from = values.from;
  if (values.tensorrt) spec.tensorrt = values.tensorrt;
  if (values.triton_release) spec.tritonRelease = values.triton_release;
  return spec;
}

/** `name` first, as in a hand-written config.pbtxt. */
function withName(config: ModelConfig, name: string): ModelConfig {
  const { name: _written, ...rest } = config;
  return { name, ...rest };
}

function modelName(ctx: SpecContext, config: ModelConfig): string {
  if (typeof config.name === 'string') {
    const problem = checkModelName(config.name);
    if (problem) ctx.error('name', problem);
    return config.name;
  }
  const name = basename(ctx.dir);
  const problem = checkModelName(name);
  if (problem) ctx.error('name', `the directory name cannot be the model name (${problem}); set name:`);
  return name;
}

function checkCrossKeys(
  ctx: SpecContext,
  config: ModelConfig,
  name: string,
  plugin: Map<string, { node: Node | null; path: string }>,
  from: string | undefined,
): void {
  const platformProblem = unknownPlatformMessage(config.platform, config.backend);
  if (platformProblem) ctx.error('platform', platformProblem);
  const hasExport = plugin.has('export');
  const hasFrom = plugin.has('from');
  if (hasExport && hasFrom) ctx.error('from', 'export and from cannot both be set: the model file comes from one or the other');
  if (from !== undefined && from === name) ctx.error('from', `a model cannot be built from itself ("${name}")`);
  if (isTensorRt(config) && !hasExport && !hasFrom) {
    ctx.error(
      config.platform !== undefined ? 'platform' : 'backend',
      'a TensorRT model needs an ONNX source: set from: <onnx model> or export:',
    );
  }
}

function sortByPlace(diagnostics: Diagnostic[]): Diagnostic[] {
  return diagnostics
    .map((d, i) => ({ d, i }))
    .sort((a, b) => (a.d.line ?? Infinity) - (b.d.line ?? Infinity) || (a.d.col ?? 0) - (b.d.col ?? 0) || a.i - b.i)
    .map(({ d }) => d);
}
