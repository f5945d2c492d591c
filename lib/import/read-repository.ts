import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { join, posix, relative } from 'node:path';
import { ConfigFileError, readRegularFile } from '../../proto/read-regular-file';
import { parsePbtxt } from '../../proto/text-format';
import { SpecError, UserError } from '../errors';
import { autoCompleteBackend, type AutoCompleted, type FileKind } from '../platforms';
import { isInside, leftOutOfCopies } from '../system/copy-tree';
import { checkModelName } from '../model-spec/model-name';
import { warmupFileProblem, warmupFiles, type ModelConfig } from '../model-config';

export interface VersionDir {
  version: number;
  /** Absolute path of `<model>/<version>/`. */
  dir: string;
  /** Names directly inside it, sorted; Python's caches left out. */
  entries: string[];
}

/** One model directory of a Triton repository, with the files Triton reads from it. */
export interface RepositoryModel {
  /** The directory name (Triton's model name). */
  name: string;
  /** Absolute path of the model directory. */
  dir: string;
  /** `<repo>/<name>/config.pbtxt` as shown in messages. */
  configFile: string;
  config: ModelConfig;
  /** Numeric version directories, oldest first. */
  versions: VersionDir[];
  /** Files the config names, relative to the model directory: label files, `warmup/<file>`. */
  namedFiles: string[];
  /** `backend`/`platform` (and a `<name>.<backend>` model's file) the config leaves out and Triton's auto-complete fills in. */
  inferred: AutoCompleted;
}

export interface RepositoryListing {
  /** Absolute path of the repository. */
  root: string;
  /** How the repository is shown in messages (as the user wrote it). */
  display: string;
  models: RepositoryModel[];
  /** Things left out, one line each (a directory without config.pbtxt, a version 0, ...). */
  warnings: string[];
  /** Problems that stop the import, one line each. */
  errors: string[];
}

/** What an import says of a Python cache it leaves out (issue 22, N8: a stale .pyc runs instead of model.py). */
export function pythonCacheWarning(path: string): string {
  return `${path}: Python's cache is not imported (Python writes it again from the sources)`;
}

/** Directories Triton itself skips when it looks for versions (model_lifecycle.cc). */
const TRITON_FOLDERS = new Set(['warmup', 'configs', 'initial_state']);

function sortedNames(dir: string): string[] {
  return readdirSync(dir).sort();
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function kindOf(path: string): FileKind | undefined {
  try {
    const st = statSync(path);
    return st.isDirectory() ? 'dir' : st.isFile() ? 'file' : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Where `path` really is when a symbolic link at any of its components leads out of the
 * repository (`realRoot`); undefined when it stays inside or does not exist.
 */
function escapes(realRoot: string, path: string): string | undefined {
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    return undefined;
  }
  return isInside(realRoot, real) ? undefined : real;
}

/**
 * Triton's auto-complete looks at the first of the model directory's subdirectories in name
 * order (core src/model_config_utils.cc, AutoCompleteBackendFields: a std::set of GetDirectorySubdirs).
 */
function firstSubdir(dir: string): string | undefined {
  return sortedNames(dir).find((name) => isDir(join(dir, name)));
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** A path the config names, checked to stay inside the model directory; normalised, or undefined. */
function insideModelDir(path: string): string | undefined {
  const normal = posix.normalize(path.replace(/\\/g, '/'));
  if (path.includes('\0') || path.startsWith('/') || /^[A-Za-z]:/.test(path)) return undefined;
  if (normal === '.' || normal === '..' || normal.startsWith('../')) return undefined;
  return normal;
}

/** Label files and warm-up data the config names, as paths relative to the model directory. */
export function filesNamedByConfig(config: ModelConfig): { label: string[]; warmup: string[] } {
  const label = new Set<string>();
  for (const output of config.output ?? []) {
    if (typeof output.label_filename === 'string' && output.label_filename !== '') label.add(output.label_filename);
  }
  const warmup = new Set(warmupFiles(config).map(({ file }) => `warmup/${file}`));
  return { label: [...label].sort(), warmup: [...warmup].sort() };
}

function readModel(listing: RepositoryListing, realRoot: string, name: string): RepositoryModel | undefined {
  const dir = join(listing.root, name);
  const shown = `${listing.display}/${name}`;
  const configFile = `${shown}/config.pbtxt`;
  const configPath = join(dir, 'config.pbtxt');
  /** A path of the model leading outside the repository: an error naming where it leads. */
  const outside = (path: string): boolean => {
    const real = escapes(realRoot, path);
    if (real === undefined) return false;
    const rel = relative(listing.root, path).split('\\').join('/');
    listing.errors.push(`${listing.display}/${rel}: leads through a symbolic link to ${real}, outside the repository; an import copies only what is inside it`);
    return true;
  };
  if (outside(dir) || outside(configPath)) return undefined;
  if (!existsSync(configPath)) {
    listing.warnings.push(`${shown}: no config.pbtxt, skipped (Triton may auto-complete its config, but an import needs it written down)`);
    return undefined;
  }
  const problem = checkModelName(name);
  if (problem) {
    listing.errors.push(`${shown}: ${problem}`);
    return undefined;
  }
  let config: ModelConfig;
  try {
    config = parsePbtxt(readRegularFile(configPath), configFile);
  } catch (err) {
    if (err instanceof SpecError) listing.errors.push(err.message);
    else if (err instanceof ConfigFileError) listing.errors.push(`${configFile}${err.line !== undefined ? `:${err.line}:${err.col}` : ''}: ${err.message}`);
    else listing.errors.push(`${configFile}: cannot read it (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    return undefined;
  }
  if (config.name !== undefined && config.name !== name) {
    listing.errors.push(`${configFile}: name: "${config.name}" differs from the directory name "${name}"; Triton requires them to be equal`);
    return undefined;
  }

  const named = filesNamedByConfig(config);
  const errorsBefore = listing.errors.length;
  // The build's check of warm-up files, so an import never writes a triton.yaml its build refuses (issue 22, N18).
  for (const { path, file } of warmupFiles(config)) {
    const problem = warmupFileProblem(file);
    if (problem) listing.errors.push(`${configFile}: ${path}: ${problem}`);
  }
  if (listing.errors.length > errorsBefore) return undefined;
  const namedFiles: string[] = [];
  for (const file of [...named.label, ...named.warmup]) {
    const normal = insideModelDir(file);
    if (normal === undefined) {
      listing.errors.push(`${configFile}: ${JSON.stringify(file)} is not a path inside the model directory`);
    } else if (outside(join(dir, normal))) {
      continue;
    } else if (!isFile(join(dir, normal))) {
      listing.errors.push(`${configFile}: names ${JSON.stringify(normal)}, but ${shown}/${normal} is not a file`);
    } else namedFiles.push(normal);
  }
  if (listing.errors.length > errorsBefore) return undefined;
  const topOfNamed = new Set(namedFiles.map((f) => f.split('/')[0]));

  const versions: VersionDir[] = [];
  for (const entry of sortedNames(dir)) {
    const path = join(dir, entry);
    if (entry === 'config.pbtxt' || topOfNamed.has(entry)) continue;
    if (/^[1-9][0-9]*$/.test(entry) && isDir(path)) {
      if (outside(path)) continue;
      if (!Number.isSafeInteger(Number(entry))) listing.warnings.push(`${shown}/${entry}: version number too large, not imported`);
      else {
        const names = sortedNames(path);
        for (const name of names.filter(leftOutOfCopies)) listing.warnings.push(pythonCacheWarning(join(path, name)));
        versions.push({ version: Number(entry), dir: path, entries: names.filter((name) => !leftOutOfCopies(name)) });
      }
    } else if (entry === '0' && isDir(path)) {
      listing.warnings.push(`${shown}/0: version 0 is not imported (nx-triton versions start at 1); rename it to import it`);
    } else if (entry === 'warmup' && isDir(path)) {
      listing.warnings.push(`${shown}/warmup/: files that no model_warmup entry names are not imported`);
    } else if (TRITON_FOLDERS.has(entry) && isDir(path)) {
      listing.warnings.push(`${shown}/${entry}/: not imported (nx-triton builds config.pbtxt only)`);
    } else if (isDir(path) && /^[0-9]/.test(entry)) {
      listing.warnings.push(`${shown}/${entry}/: Triton ignores this version directory (leading zero or not a number), not imported`);
    } else if (!entry.startsWith('.')) {
      listing.warnings.push(`${shown}/${entry}: not named by config.pbtxt, not imported`);
    }
  }
  if (listing.errors.length > errorsBefore) return undefined;
  versions.sort((a, b) => a.version - b.version);
  if (versions.length === 0) {
    listing.errors.push(`${shown}: no version directory (such as ${shown}/1/); Triton cannot load the model`);
    return undefined;
  }
  const first = firstSubdir(dir);
  const inferred = autoCompleteBackend(config, (file) => (first === undefined ? undefined : kindOf(join(dir, first, file))), name);
  return { name, dir, configFile, config, versions, namedFiles, inferred };
}

/**
 * Lists the models of a Triton model repository: every directory holding a config.pbtxt, parsed,
 * with its numeric version directories and the label and warm-up files its config names.
 * Reads no model file; problems are collected, not thrown (the caller reports them all at once).
 */
export function readRepository(root: string, display: string = root): RepositoryListing {
  if (!isDir(root)) throw new UserError(`${display}: not a directory (expected a Triton model repository)`);
  const shown = display.replace(/\\/g, '/').replace(/\/+$/, '') || '.';
  const listing: RepositoryListing = { root, display: shown, models: [], warnings: [], errors: [] };
  const realRoot = realpathSync(root);
  for (const name of sortedNames(root)) {
    if (name.startsWith('.')) continue;
    if (!isDir(join(root, name))) {
      listing.warnings.push(`${shown}/${name}: not a model directory, skipped`);
      continue;
    }
    const model = readModel(listing, realRoot, name);
    if (model) listing.models.push(model);
  }
  if (listing.models.length === 0 && listing.errors.length === 0) {
    listing.errors.push(`${shown}: no model directory with a config.pbtxt found`);
  }
  return listing;
}
