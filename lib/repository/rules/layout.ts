import type { Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { basename, isAbsolute, join, normalize, sep } from 'node:path';
import { ioFromOnnx } from '../../config/derive';
import { modelFilename } from '../../layout';
import { autoCompleteBackend, backendOf, MODEL_FILE_BACKENDS, RUNTIMES, type FileKind } from '../../platforms';
import { readOnnxSignature } from '../../onnx';
import type { ModelConfig } from '../../model-config';
import { compareOnnxSignature } from './onnx-vs-config';
import { onnxReleaseProblem } from './onnx-release';
import { planHeaderProblem, readPlanHeader } from './plan-header';
import type { Problem } from './problem';
import { isEnsemble } from '../../model-config';

/** Folders Triton skips when it looks for versions (model_lifecycle.cc VersionsToLoad). */
const NOT_VERSIONS = new Set(['warmup', 'initial_state', 'configs']);

async function entries(dir: string): Promise<Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

async function kindOf(path: string): Promise<'file' | 'dir' | undefined> {
  try {
    const s = await stat(path);
    return s.isDirectory() ? 'dir' : s.isFile() ? 'file' : undefined;
  } catch {
    return undefined;
  }
}

/** The version directories Triton loads from, and what is wrong with the other folders. */
export async function versionDirs(modelDir: string): Promise<{ versions: number[]; problems: Problem[] }> {
  const versions: number[] = [];
  const problems: Problem[] = [];
  for (const e of await entries(modelDir)) {
    // Triton stats each entry, so a symbolic link to a directory is a version directory too.
    if (!(e.isDirectory() || (e.isSymbolicLink() && (await kindOf(join(modelDir, e.name))) === 'dir')) || NOT_VERSIONS.has(e.name)) continue;
    const n = e.name;
    if (/^(0|[1-9]\d*)$/.test(n)) versions.push(Number(n));
    else if (/^0\d+$/.test(n)) {
      problems.push({ path: `${n}/`, message: `version directory '${n}' starts with 0, so Triton ignores it; name it ${Number(n)}`, warning: true });
    } else if (/^-?\d/.test(n)) {
      problems.push({ path: `${n}/`, message: `'${n}' is not a version number; Triton would read it as version ${parseInt(n, 10)}. Use digits only`, warning: true });
    } else {
      problems.push({ path: `${n}/`, message: `'${n}' is not a version directory (versions are named 1, 2, ...); Triton ignores it`, warning: true });
    }
  }
  return { versions: versions.sort((a, b) => a - b), problems };
}

/** The versions Triton would load from `available` under the config's version_policy. */
export function loadedVersions(config: ModelConfig, available: number[]): number[] {
  const policy = config.version_policy;
  if (policy?.all) return [...available];
  if (policy?.specific) {
    const wanted = new Set((policy.specific.versions ?? []).map(Number));
    return available.filter((v) => wanted.has(v));
  }
  const keep = policy?.latest ? (policy.latest.num_versions ?? 0) : 1;
  return [...available].sort((a, b) => b - a).slice(0, Math.max(0, keep)).sort((a, b) => a - b);
}

/** What Triton's auto-complete infers from a model file name (AutoCompleteBackendFields). */
/**
 * The config with `backend` (and `platform` where Triton sets one) filled in as Triton's
 * auto-complete does (lib/platforms.ts autoCompleteBackend): from the platform, from
 * `default_model_filename`, else from the files in the first subdirectory (in byte order, as
 * Triton's std::set lists them), else from a `<name>.<backend>` directory name.
 * Returns the config unchanged when nothing can be inferred.
 */
export async function completeBackend(config: ModelConfig, modelDir: string, opts: { configOnly?: boolean } = {}): Promise<ModelConfig> {
  const fromConfig = autoCompleteBackend(config, () => undefined);
  // The model file Triton would infer the platform from is a file check: --config-only reads none.
  if (fromConfig.backend || opts.configOnly) return { ...config, ...fromConfig };
  const subdirs: string[] = [];
  for (const e of await entries(modelDir)) {
    if (e.isDirectory() || (e.isSymbolicLink() && (await kindOf(join(modelDir, e.name))) === 'dir')) subdirs.push(e.name);
  }
  const first = subdirs.sort((x, y) => (x < y ? -1 : x > y ? 1 : 0))[0];
  const present = new Map<string, FileKind | undefined>();
  for (const r of RUNTIMES) present.set(r.file, first === undefined ? undefined : await kindOf(join(modelDir, first, r.file)));
  return { ...config, ...autoCompleteBackend(config, (file) => present.get(file), basename(modelDir)) };
}

/** A relative file name from the config that must stay inside `dir`. */
function inside(dir: string, name: string): string | undefined {
  if (!name || isAbsolute(name)) return undefined;
  const n = normalize(name);
  if (n === '..' || n.startsWith(`..${sep}`)) return undefined;
  return join(dir, n);
}

type Shape = 'file' | 'dir' | 'either';

function expectedShape(config: ModelConfig): Shape {
  const backend = backendOf(config);
  if (config.platform === 'tensorflow_savedmodel') return 'dir';
  if (backend === 'onnxruntime' || config.default_model_filename) return 'either';
  if (['tensorrt', 'pytorch', 'python', 'openvino', 'dali'].includes(backend)) return 'file';
  return 'either';
}

/** The ONNX file of a version: `model.onnx` itself, or `model.onnx/model.onnx` in the directory form. */
async function onnxFile(path: string): Promise<string | undefined> {
  const k = await kindOf(path);
  if (k === 'file') return path;
  if (k === 'dir' && (await kindOf(join(path, 'model.onnx'))) === 'file') return join(path, 'model.onnx');
  return undefined;
}

/** Backends that load a model file themselves; a custom backend decides what it needs. */
const FILE_BACKENDS = MODEL_FILE_BACKENDS;

async function checkVersionFiles(modelDir: string, config: ModelConfig, version: number): Promise<Problem[]> {
  const problems: Problem[] = [];
  const file = modelFilename(config);
  const backend = backendOf(config);
  // A python model with its own `runtime` (e.g. a python-based backend) may have no model.py.
  if (!file || !FILE_BACKENDS.has(backend) || (backend === 'python' && config.runtime)) return problems;
  const rel = `${version}/${file}`;
  const path = inside(join(modelDir, String(version)), file);
  if (!path) return [{ path: 'default_model_filename', message: `'${file}' must be a file name inside the version directory` }];
  const kind = await kindOf(path);
  const shape = expectedShape(config);
  const ccFiles = Object.entries(config.cc_model_filenames ?? {});
  for (const [cc, f] of ccFiles) {
    const ccPath = inside(join(modelDir, String(version)), f);
    if (!ccPath) problems.push({ path: `cc_model_filenames[${cc}]`, message: `'${f}' must be a file name inside the version directory` });
    else if (!(await kindOf(ccPath))) {
      problems.push({ path: `cc_model_filenames[${cc}]`, message: `${version}/${f} does not exist (the model file for compute capability ${cc})` });
    }
  }
  if (!kind) {
    // With a file per compute capability, the default file is only needed on other GPUs.
    if (ccFiles.length === 0) problems.push({ path: rel, message: `model file ${rel} does not exist` });
    return problems;
  }
  if (shape !== 'either' && kind !== shape) {
    problems.push({ path: rel, message: `${rel} must be a ${shape === 'dir' ? 'directory' : 'file'}, found a ${kind === 'dir' ? 'directory' : 'file'}` });
    return problems;
  }
  if (backend === 'onnxruntime' && kind === 'dir' && !(await onnxFile(path))) {
    problems.push({ path: rel, message: `${rel} is a directory without model.onnx in it` });
  }
  return problems;
}

/** Reads what is in the model files: the ONNX graph's I/O (and, with a Triton release, its IR version and opsets), the TensorRT plan header. */
async function checkModelContents(modelDir: string, config: ModelConfig, version: number, tritonRelease?: string): Promise<Problem[]> {
  const file = modelFilename(config);
  if (!file) return [];
  const dir = join(modelDir, String(version));
  const backend = backendOf(config);
  const problems: Problem[] = [];
  if (backend === 'onnxruntime') {
    const path = inside(dir, file);
    const onnx = path && (await onnxFile(path));
    if (!onnx) return problems;
    try {
      const sig = await readOnnxSignature(onnx);
      problems.push(...compareOnnxSignature(config, sig, `${version}/${file}`));
      // With triton_release, its IR version and opsets against what that release's ONNX Runtime loads.
      const tooNew = tritonRelease === undefined ? undefined : onnxReleaseProblem(sig, tritonRelease);
      if (tooNew) problems.push({ path: `${version}/${file}`, message: tooNew });
    } catch (err) {
      problems.push({ path: `${version}/${file}`, message: `cannot read the ONNX model: ${err instanceof Error ? err.message : String(err)}` });
    }
  }
  if (backend === 'tensorrt') {
    const files = [file, ...Object.values(config.cc_model_filenames ?? {})];
    for (const f of new Set(files)) {
      const path = inside(dir, f);
      if (!path || (await kindOf(path)) !== 'file') continue;
      const problem = planHeaderProblem(await readPlanHeader(path), tritonRelease);
      if (problem) problems.push({ path: `${version}/${f}`, message: problem });
    }
  }
  return problems;
}

/**
 * What Triton checks in the model directory: version directories, the model file of every
 * version it would load, `cc_model_filenames`, label files, and the contents of the model files
 * against the config. `configOnly` requires no file: only what the config's own text decides
 * stays (a label file name that leads outside the model directory, a `cc_model_filenames` key
 * that is not a compute capability), and the warnings about folders Triton skips.
 */
export async function checkModelFiles(modelDir: string, config: ModelConfig, opts: { configOnly?: boolean; tritonRelease?: string } = {}): Promise<Problem[]> {
  const problems: Problem[] = [];
  (config.output ?? []).forEach((o, i) => {
    const label = o.label_filename ?? '';
    if (label && !inside(modelDir, label)) {
      problems.push({ path: `output[${i}].label_filename`, message: `'${label}' must be a file name inside the model directory` });
    }
  });
  const ccKeys = () =>
    Object.keys(config.cc_model_filenames ?? {})
      .filter((cc) => !/^\d+\.\d+$/.test(cc))
      .map((cc) => ({ path: `cc_model_filenames[${cc}]`, message: `key '${cc}' is not a compute capability like "8.6", so Triton never uses it` }));
  const { versions, problems: dirProblems } = await versionDirs(modelDir);
  problems.unshift(...dirProblems);
  // The folders' names are still read (warnings only: what Triton skips); nothing is required.
  if (opts.configOnly) return [...problems, ...ccKeys()];
  for (const [i, o] of (config.output ?? []).entries()) {
    const label = o.label_filename ?? '';
    const path = label ? inside(modelDir, label) : undefined;
    if (path && (await kindOf(path)) !== 'file') {
      problems.push({ path: `output[${i}].label_filename`, message: `label file '${label}' does not exist beside config.pbtxt` });
    }
  }
  problems.push(...ccKeys());

  if (versions.length === 0) {
    problems.push({ path: '', message: 'no version directory: a model needs at least one (1/, 2/, ...), an ensemble too' });
    return problems;
  }
  // Triton logs a listed version without its directory as an error and serves the others: refuse it.
  const missing = (config.version_policy?.specific?.versions ?? [])
    .map((v, i) => ({ n: Number(v), i }))
    .filter(({ n }) => Number.isInteger(n) && n >= 1 && !versions.includes(n));
  const loaded = loadedVersions(config, versions);
  if (loaded.length === 0) {
    const listed = missing.length > 0 ? `; version_policy.specific lists ${missing.map((m) => m.n).join(', ')}, which has no version directory` : '';
    problems.push({
      path: 'version_policy',
      message: `at least one version must be available under the version policy (found versions ${versions.join(', ')}${listed})`,
    });
    return problems;
  }
  for (const { n, i } of missing) {
    problems.push({
      path: `version_policy.specific.versions[${i}]`,
      message: `version ${n} is listed but there is no version directory ${n}/ (found ${versions.join(', ')}); Triton would not serve it`,
    });
  }
  if (isEnsemble(config)) return problems;
  for (const v of loaded) {
    const fileProblems = await checkVersionFiles(modelDir, config, v);
    problems.push(...fileProblems);
    if (fileProblems.length === 0) problems.push(...(await checkModelContents(modelDir, config, v, opts.tritonRelease)));
  }
  return problems;
}

/**
 * An ONNX model's config with the inputs or outputs it leaves out filled from the graph, as
 * Triton's onnxruntime backend auto-completes them (derived the way `triton.yaml` I/O is derived).
 * What an ensemble over it sees; the model's own checks keep the config as written. The config as
 * it is when there is no readable graph.
 */
export async function withOnnxIo(config: ModelConfig, modelDir: string): Promise<ModelConfig> {
  const given = (config.input?.length ?? 0) > 0 && (config.output?.length ?? 0) > 0;
  if (config.backend !== 'onnxruntime' || given) return config;
  const { versions } = await versionDirs(modelDir);
  const latest = loadedVersions(config, versions).at(-1);
  const name = modelFilename(config);
  const file = latest !== undefined && name ? await onnxFile(join(modelDir, String(latest), name)) : undefined;
  if (!file) return config;
  const onnx = await readOnnxSignature(file).catch(() => undefined);
  const derived = onnx && ioFromOnnx(config, onnx);
  if (!derived) return config;
  return { ...config, input: config.input?.length ? config.input : derived.input, output: config.output?.length ? config.output : derived.output };
}
