import { join, posix } from 'node:path';
import { UserError } from '../errors';
import { modelFilename, SPEC_FILE } from '../layout';
import { loadsOwnFiles, needsModelFile } from '../platforms';
import type { ModelConfig } from '../model-config';
import { pythonCacheWarning, type RepositoryListing, type RepositoryModel } from './read-repository';
import { listTree, type TreeEntry } from '../system/copy-tree';
import { workspaceFileRefusal } from './workspace-files';
import { configToYaml } from './to-yaml';

/** A file or directory of the repository to copy into a project. */
export interface PlannedCopy {
  /** Absolute source path (a file or a directory, copied whole). */
  src: string;
  /** Destination relative to the project directory (posix). */
  dest: string;
}

/** A planned copy with what it copies, listed and checked before anything is written. */
export interface ListedCopy extends PlannedCopy {
  entries: TreeEntry[];
}

export interface ModelPlan {
  name: string;
  /** The project directory, relative to the workspace root (posix): `<directory>/<name>`. */
  projectDir: string;
  /** The triton.yaml text. */
  yaml: string;
  copies: PlannedCopy[];
  /** The same copies, each with its files and directories (links resolved, checked, Python caches out). */
  listed: ListedCopy[];
  /** Every version the project builds, oldest first. */
  versions: number[];
}

export interface ImportPlan {
  /** Absolute path of the repository (symbolic links inside it are followed when copying). */
  repositoryRoot: string;
  models: ModelPlan[];
  /** What is left out or needs attention, one line each. */
  warnings: string[];
}

export interface ImportOptions {
  /** Where the projects go, relative to the workspace root (default `models`). */
  directory?: string;
}

/** Where the older versions go inside a project. */
const VERSIONS_DIR = 'versions';

/** `--directory`, normalised; it must stay inside the workspace. */
export function normalizeDirectory(directory: string | undefined): string {
  if (directory === undefined) return 'models';
  const written = directory.replace(/\\/g, '/');
  const normal = posix.normalize(written).replace(/\/+$/, '');
  if (written.startsWith('/') || /^[A-Za-z]:/.test(written) || normal === '..' || normal.startsWith('../')) {
    throw new UserError(`--directory ${JSON.stringify(directory)} must be a path inside the workspace`);
  }
  return normal === '.' ? '' : normal;
}

function describeRuntime(config: ModelConfig): string {
  const { platform, backend } = config;
  return platform ? `platform ${platform}` : backend ? `backend ${backend}` : 'no platform or backend';
}

/** The newest version's files: beside triton.yaml, or under versions/<n>/ when a name would clash there. */
function newestBase(model: RepositoryModel, entries: string[]): string {
  const taken = new Set([SPEC_FILE, VERSIONS_DIR, ...model.namedFiles.map((f) => f.split('/')[0])]);
  const newest = model.versions[model.versions.length - 1];
  return entries.some((e) => taken.has(e)) ? `${VERSIONS_DIR}/${newest.version}/` : '';
}

/** Copies every entry of the newest version to versions/<n>/ and returns that directory, for export.file. */
function versionDirectory(newest: RepositoryModel['versions'][number], copies: PlannedCopy[]): string {
  const dir = `${VERSIONS_DIR}/${newest.version}`;
  for (const entry of newest.entries) copies.push({ src: join(newest.dir, entry), dest: `${dir}/${entry}` });
  return dir;
}

/** The config with what Triton infers written down (a triton.yaml must name its backend), and a note of it. */
function completedConfig(model: RepositoryModel, warnings: string[]): ModelConfig {
  const { config, inferred } = model;
  if (config.platform || config.backend || !inferred.backend) return config;
  const named = inferred.default_model_filename;
  const key = inferred.platform ? `platform: ${inferred.platform}` : `backend: ${inferred.backend}${named ? ` (default_model_filename: ${named})` : ''}`;
  const from = config.default_model_filename
    ? `default_model_filename "${config.default_model_filename}"`
    : named
      ? `the model name "${model.name}" (<name>.<backend>)`
      : 'the model file';
  warnings.push(`${model.configFile}: sets neither platform nor backend; Triton infers ${key} from ${from}, written into triton.yaml`);
  if (inferred.platform) return { ...config, platform: inferred.platform };
  return { ...config, backend: inferred.backend, ...(named ? { default_model_filename: named } : {}) };
}

function planModel(model: RepositoryModel, directory: string, listing: RepositoryListing, errors: string[], warnings: string[]): ModelPlan | undefined {
  const display = listing.display;
  const shown = `${display}/${model.name}`;
  const config = completedConfig(model, warnings);
  const projectDir = directory ? `${directory}/${model.name}` : model.name;
  const newest = model.versions[model.versions.length - 1];
  const older = model.versions.slice(0, -1);
  const copies: PlannedCopy[] = [];
  const previous: Record<string, string> = {};
  for (const v of older) {
    previous[String(v.version)] = `${VERSIONS_DIR}/${v.version}`;
    copies.push({ src: v.dir, dest: `${VERSIONS_DIR}/${v.version}` });
  }

  let exportFile: string | undefined;
  const visible = newest.entries.filter((e) => !e.startsWith('.'));
  if (config.platform === 'ensemble') {
    if (visible.length > 0) {
      warnings.push(`${shown}/${newest.version}/: an ensemble has no model file; ${visible.join(', ')} not imported`);
    }
  } else if (loadsOwnFiles(config)) {
    // vLLM (1/model.json), tensorrtllm, a python model with its own runtime: no model file, but
    // the backend reads what the version directory holds, so it is built back as it is.
    if (visible.length > 0) exportFile = versionDirectory(newest, copies);
  } else if ((config.platform || config.backend) && !needsModelFile(config) && !newest.entries.includes(modelFilename(config) ?? '')) {
    // A custom backend without its model.<backend>: it reads its files from elsewhere.
    const base = newestBase(model, newest.entries);
    for (const entry of newest.entries) copies.push({ src: join(newest.dir, entry), dest: `${base}${entry}` });
    if (visible.length > 0) {
      warnings.push(
        `${shown}/${newest.version}/: ${visible.join(', ')} copied into ${projectDir}/${base} but not built into version ${newest.version}: ${describeRuntime(config)} takes no model file, so the project has no export`,
      );
    }
  } else {
    const filename = modelFilename(config);
    if (filename === undefined) {
      errors.push(`${model.configFile}: sets neither platform nor backend, so the model file cannot be told; set one of them`);
      return undefined;
    }
    if (!newest.entries.includes(filename)) {
      const has = visible.length > 0 ? `it holds ${visible.join(', ')}` : 'it is empty';
      errors.push(`${shown}/${newest.version}/: no ${filename} (the file Triton loads for ${describeRuntime(config)}); ${has}`);
      return undefined;
    }
    const extras = visible.filter((e) => e !== filename);
    // A python model's dot files are its files too (a previous version keeps them): one rule (issue 22, N20).
    const pythonExtras = newest.entries.filter((e) => e !== filename);
    if (config.backend === 'python' && pythonExtras.length > 0) {
      // model.py imports its neighbours: export.file's directory form builds the whole directory.
      exportFile = versionDirectory(newest, copies);
    } else {
      const base = newestBase(model, newest.entries);
      for (const entry of newest.entries) copies.push({ src: join(newest.dir, entry), dest: `${base}${entry}` });
      exportFile = `${base}${filename}`;
      if (extras.length > 0) {
        warnings.push(
          `${shown}/${newest.version}/: ${extras.join(', ')} copied into ${projectDir}/${base} but not built into version ${newest.version}: export.file takes the model file (${filename}) alone`,
        );
      }
    }
  }
  for (const file of model.namedFiles) copies.push({ src: join(model.dir, file), dest: file });

  let yaml: string;
  try {
    yaml = configToYaml(
      config,
      { version: newest.version, previous_versions: previous, export: exportFile === undefined ? undefined : { file: exportFile } },
      model.configFile,
    );
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    errors.push(`${model.configFile}: ${err.message}`);
    return undefined;
  }
  const listed = listCopies(copies, listing.root, errors, warnings);
  return { name: model.name, projectDir, yaml, copies, listed, versions: model.versions.map((v) => v.version) };
}

/**
 * Every file each copy brings, checked before anything is written: links that stay in the repository
 * (each real file is copied once, MAX_TREE_ENTRIES at most), no file that makes or changes an Nx
 * project, a package or an ignore file (workspaceFileRefusal), Python's caches left out.
 */
function listCopies(copies: PlannedCopy[], root: string, errors: string[], warnings: string[]): ListedCopy[] {
  const listed: ListedCopy[] = [];
  const leftOut: string[] = [];
  for (const copy of copies) {
    try {
      const entries = listTree(copy.src, { root, refuse: (_rel, name) => workspaceFileRefusal(name), onLeftOut: (path) => leftOut.push(path) });
      listed.push({ ...copy, entries });
    } catch (err) {
      if (!(err instanceof UserError)) throw err;
      errors.push(err.message);
    }
  }
  for (const warning of leftOut.map(pythonCacheWarning)) if (!warnings.includes(warning)) warnings.push(warning);
  return listed;
}

/**
 * Turns a read repository into one project per model: its triton.yaml (version: the newest version,
 * export.file: that version's model file, copied into the project; older versions copied to
 * versions/<n>/ and listed in previous_versions; label and warm-up files copied beside triton.yaml).
 * Throws UserError listing every problem of the repository; writes nothing.
 */
export function planImport(listing: RepositoryListing, options: ImportOptions = {}): ImportPlan {
  const directory = normalizeDirectory(options.directory);
  const errors = [...listing.errors];
  const warnings = [...listing.warnings];
  const models: ModelPlan[] = [];
  for (const model of listing.models) {
    const plan = planModel(model, directory, listing, errors, warnings);
    if (plan) models.push(plan);
  }
  if (errors.length > 0) throw new UserError(`cannot import ${listing.display}:\n${errors.map((e) => `  ${e}`).join('\n')}`);
  return { repositoryRoot: listing.root, models, warnings };
}

export interface Workspace {
  /** Names of the workspace's projects and triton.yaml models. */
  names: ReadonlySet<string>;
  /** Whether a workspace-relative path exists. */
  exists: (path: string) => boolean;
}

/** Models whose name or project directory is already taken, one line each (empty when none). */
export function findClashes(plan: ImportPlan, workspace: Workspace): string[] {
  const clashes: string[] = [];
  for (const model of plan.models) {
    if (workspace.names.has(model.name)) clashes.push(`Model ${model.name} already exists`);
    else if (workspace.exists(model.projectDir)) clashes.push(`${model.projectDir} already exists (model ${model.name})`);
  }
  return clashes;
}

/** `findClashes` as an error: every clash listed, nothing written. */
export function assertNoClashes(plan: ImportPlan, workspace: Workspace): void {
  const clashes = findClashes(plan, workspace);
  if (clashes.length > 0) {
    throw new UserError(
      `nothing imported, ${clashes.length} model(s) clash with the workspace (rename them, or import elsewhere with --directory):\n${clashes.map((c) => `  ${c}`).join('\n')}`,
    );
  }
}
