import { readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { ConfigFileError, readRegularFile } from '../../proto/read-regular-file';
import { parsePbtxt } from '../../proto/text-format';
import { SpecError, UserError } from '../errors';
import type { ModelConfig } from '../model-config';
import type { Problem } from './rules';
import { checkEnsemble, checkModelConfig, checkModelFiles, completeBackend, loadedVersions, versionDirs, withOnnxIo } from './rules';

/** One problem of one model; `line`/`col` are set for config.pbtxt syntax errors. */
export interface RepositoryProblem {
  model: string;
  path: string;
  message: string;
  line?: number;
  col?: number;
  /** Triton loads the model anyway: reported, but not a reason to fail. */
  warning?: true;
}

export interface RepositoryReport {
  /** Every model directory found, in name order. */
  models: string[];
  problems: RepositoryProblem[];
}

async function isDir(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** The platform rule that a model file decides when the config leaves it out (Triton's auto-complete). */
const NO_PLATFORM = "must specify 'platform' or 'backend'";

async function readConfig(modelDir: string, model: string): Promise<ModelConfig | RepositoryProblem[]> {
  let text: string;
  try {
    text = readRegularFile(join(modelDir, 'config.pbtxt'));
  } catch (err) {
    if (err instanceof ConfigFileError) return [{ model, path: '', message: err.message, line: err.line, col: err.col }];
    // Triton generates the config when there is none (auto-complete); the rules then see {}.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    return [{ model, path: '', message: `cannot read config.pbtxt: ${(err as Error).message}` }];
  }
  try {
    return parsePbtxt(text, `${model}/config.pbtxt`);
  } catch (err) {
    if (err instanceof SpecError) {
      return err.diagnostics.map((d) => ({ model, path: d.path, message: d.message, line: d.line, col: d.col }));
    }
    throw err;
  }
}

/** Every model of a Triton repository checked as Triton would at load time, with the model list. */
export async function checkRepository(dir: string, opts: { configOnly?: boolean; tritonRelease?: string } = {}): Promise<RepositoryReport> {
  if (!(await isDir(dir))) throw new UserError(`${dir}: not a directory`);
  if ((await stat(join(dir, 'config.pbtxt')).catch(() => undefined))?.isFile()) {
    throw new UserError(`${dir} is a model directory (it holds config.pbtxt); pass the repository that contains it`);
  }
  // Triton stats each entry: a symbolic link to a directory is a model directory too.
  const models: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.name.startsWith('.')) continue;
    if (e.isDirectory() || (e.isSymbolicLink() && (await isDir(join(dir, e.name))))) models.push(e.name);
  }
  models.sort();

  const problems: RepositoryProblem[] = [];
  const configs = new Map<string, ModelConfig>();
  const versions = new Map<string, number[]>();
  const broken = new Set<string>();
  for (const model of models) {
    const modelDir = join(dir, model);
    const read = await readConfig(modelDir, model);
    if (Array.isArray(read)) {
      problems.push(...read);
      broken.add(model);
      continue;
    }
    const config = await completeBackend({ ...read, name: read.name || model }, modelDir, opts);
    // An ensemble sees an ONNX member's I/O as Triton auto-completes it from the graph.
    configs.set(model, opts.configOnly ? config : await withOnnxIo(config, modelDir));
    // --config-only reads no directory: pinned ensemble versions are not checked then.
    if (!opts.configOnly) versions.set(model, loadedVersions(config, (await versionDirs(modelDir)).versions));
    const found = [
      // --config-only reads no model file, so a platform left to the model file is not a problem.
      ...checkModelConfig(config, { dirName: model }).filter((p) => !(opts.configOnly && !config.platform && !config.backend && p.message === NO_PLATFORM)),
      ...(await checkModelFiles(modelDir, config, opts)),
    ];
    for (const p of found) problems.push({ model, ...p }); // not push(...found): 200k problems overflow the stack
  }

  for (const [model, config] of configs) {
    if (config.platform !== 'ensemble') continue;
    // A member whose config does not parse is already reported; checking against it would guess.
    const steps = config.ensemble_scheduling?.step ?? [];
    if (steps.some((s) => s.model_name && broken.has(s.model_name))) continue;
    problems.push(...checkEnsemble(config, configs, versions).map((p) => ({ model, ...p })));
  }
  problems.push(...unloadableMembers(configs, broken, problems));
  const order = new Map(models.map((m, i) => [m, i]));
  problems.sort((a, b) => order.get(a.model)! - order.get(b.model)!);
  return { models, problems };
}

/**
 * An ensemble whose step names a model Triton would not load is refused too (the real server:
 * "ensemble ... contains models that are not available", or "depends on '…' which has no loaded
 * version"), also through nested ensembles: one problem per such step.
 */
function unloadableMembers(configs: Map<string, ModelConfig>, broken: Set<string>, problems: RepositoryProblem[]): RepositoryProblem[] {
  const failing = new Set([...broken, ...problems.filter((p) => !p.warning).map((p) => p.model)]);
  const added: RepositoryProblem[] = [];
  for (let changed = true; changed; ) {
    changed = false;
    for (const [model, config] of configs) {
      if (config.platform !== 'ensemble') continue;
      const steps = config.ensemble_scheduling?.step ?? [];
      steps.forEach((s, i) => {
        const path = `ensemble_scheduling.step[${i}].model_name`;
        if (!s.model_name || s.model_name === model || !failing.has(s.model_name) || added.some((p) => p.model === model && p.path === path)) return;
        added.push({ model, path, message: `model '${s.model_name}' would not load (see its problems), so neither would this ensemble` });
        if (!failing.has(model)) {
          failing.add(model);
          changed = true;
        }
      });
    }
  }
  return added;
}

/** The problems of every model in the repository `dir` (empty when Triton would load it all). */
export async function validateRepository(dir: string, opts: { configOnly?: boolean } = {}): Promise<RepositoryProblem[]> {
  return (await checkRepository(dir, opts)).problems;
}

/**
 * One model directory checked as `validate` checks it inside a repository: the config rules,
 * the files under `modelDir` (which may be a staging directory: `dirName` is then the model's
 * real directory name), and for an ensemble its steps against the models already in `repository`.
 */
export async function validateModel(
  modelDir: string,
  config: ModelConfig,
  opts: { dirName?: string; repository?: string; configOnly?: boolean; tritonRelease?: string } = {},
): Promise<Problem[]> {
  const dirName = opts.dirName ?? basename(modelDir);
  const complete = await completeBackend({ ...config, name: config.name || dirName }, modelDir, opts);
  // The build refuses what Triton refuses; warnings are for `nx-triton validate` to show.
  const problems = [...checkModelConfig(complete, { dirName }), ...(await checkModelFiles(modelDir, complete, opts))].filter((p) => !p.warning);
  if (complete.platform !== 'ensemble') return problems;
  const members = new Map<string, ModelConfig>();
  const versions = new Map<string, number[]>();
  if (opts.repository && (await isDir(opts.repository))) {
    for (const e of await readdir(opts.repository, { withFileTypes: true })) {
      if (!e.isDirectory() || e.name === dirName || e.name.startsWith('.')) continue;
      const dir = join(opts.repository, e.name);
      const read = await readConfig(dir, e.name);
      if (Array.isArray(read)) continue;
      const member = await completeBackend({ ...read, name: read.name || e.name }, dir);
      members.set(e.name, opts.configOnly ? member : await withOnnxIo(member, dir));
      versions.set(e.name, loadedVersions(member, (await versionDirs(dir)).versions));
    }
  }
  return [...problems, ...checkEnsemble(complete, members, versions).filter((p) => !p.warning)];
}
