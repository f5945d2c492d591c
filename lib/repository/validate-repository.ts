import { readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { NotRegularFileError, readRegularFile } from '../../proto/read-regular-file';
import { parsePbtxt } from '../../proto/text-format';
import { SpecError, UserError } from '../errors';
import type { ModelConfig } from '../types';
import type { Problem } from './rules';
import { checkEnsemble, checkModelConfig, checkModelFiles, completeBackend, loadedVersions, versionDirs } from './rules';

/** One problem of one model; `line`/`col` are set for config.pbtxt syntax errors. */
export interface RepositoryProblem {
  model: string;
  path: string;
  message: string;
  line?: number;
  col?: number;
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

async function readConfig(modelDir: string, model: string): Promise<ModelConfig | RepositoryProblem[]> {
  let text: string;
  try {
    text = readRegularFile(join(modelDir, 'config.pbtxt'));
  } catch (err) {
    if (err instanceof NotRegularFileError) return [{ model, path: '', message: err.message }];
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
  const models = (await readdir(dir, { withFileTypes: true }))
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();

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
    const config = await completeBackend({ ...read, name: read.name || model }, modelDir);
    configs.set(model, config);
    versions.set(model, loadedVersions(config, (await versionDirs(modelDir)).versions));
    const found = [
      ...checkModelConfig(config, { dirName: model }),
      ...(await checkModelFiles(modelDir, config, opts)),
    ];
    for (const p of found) problems.push({ model, ...p }); // not push(...found): 200k problems overflow the stack
  }

  for (const [model, config] of configs) {
    if (config.platform !== 'ensemble') continue;
    // A member whose config does not parse is already reported; checking against it would guess.
    const steps = (config.ensemble_scheduling as { step?: Array<{ model_name?: string }> } | undefined)?.step ?? [];
    if (steps.some((s) => s.model_name && broken.has(s.model_name))) continue;
    problems.push(...checkEnsemble(config, configs, versions).map((p) => ({ model, ...p })));
  }
  const order = new Map(models.map((m, i) => [m, i]));
  problems.sort((a, b) => order.get(a.model)! - order.get(b.model)!);
  return { models, problems };
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
  const complete = await completeBackend({ ...config, name: config.name || dirName }, modelDir);
  const problems = [...checkModelConfig(complete, { dirName }), ...(await checkModelFiles(modelDir, complete, opts))];
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
      members.set(e.name, member);
      versions.set(e.name, loadedVersions(member, (await versionDirs(dir)).versions));
    }
  }
  return [...problems, ...checkEnsemble(complete, members, versions)];
}
