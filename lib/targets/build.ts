import { existsSync, lstatSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, posix, relative, resolve, sep } from 'node:path';
import { toPbtxt } from '../../proto/text-format';
import { deriveModelConfig } from '../config/derive';
import { placed } from '../model-spec/positions';
import { displayPath as display, loadWorkspaceSpec, resolveFromChain } from '../config/from-chain';
import { readTorchScriptSignature } from '../config/torchscript-io';
import { SpecError, UserError, type Diagnostic } from '../errors';
import { engineDir, exportDir, modelFilename, ONNX_FILE, PLAN_FILE, VERSION_FILES } from '../layout';
import { readOnnxSignature } from '../onnx';
import { uniqueExternalData } from '../onnx/external-data';
import { engineCcModelFilenames } from '../engine/publish';
import { childPath } from '../model-spec/context';
import type { ModelConfig } from '../model-config';
import type { ModelSpec } from '../model-spec/types';
import type { OnnxSignature } from '../onnx/types';
import { isInside } from '../system/copy-tree';
import { validateModel } from '../repository/validate-repository';
import { applyTensorRtOptions } from '../model-spec/engine-request';
import { exportCompanions } from '../repository/version-files';
import { isTensorRt, loadsOwnFiles } from '../platforms';
import { isEnsemble, warmupFileProblem, warmupFiles } from '../model-config';
import { writeModelEntry, type FileCopy, type VersionSource } from '../repository/write-entry';

export interface BuildModelOptions {
  workspaceRoot: string;
  /** The project's triton.yaml. */
  specFile: string;
  /** The repository directory, absolute or relative to the workspace root. */
  repository: string;
  /** The triton.yaml of the project that builds `modelName`, if any (for `from:`). */
  resolveSpecFile: (modelName: string) => string | undefined;
  log?: (line: string) => void;
  /** The plugin's `tritonRelease` (nx.json); the model's own `triton_release` wins. */
  tritonRelease?: string;
}

export interface BuiltModel {
  entryDir: string;
  config: ModelConfig;
  /** What the entry holds, for the summary line: `config.pbtxt`, `1/model.onnx`, `labels.txt`... */
  files: string[];
}

/** The file the export target wrote for `owner`, or a message saying to run it. */
function exportedModel(workspaceRoot: string, spec: ModelSpec, owner: ModelSpec): string {
  const dir = exportDir(workspaceRoot, owner.name);
  const own = loadsOwnFiles(owner.config) ? VERSION_FILES : modelFilename(owner.config);
  // For a TensorRT model the export is its ONNX (the engine target makes the plan); a plan given by file: also works.
  const names = isTensorRt(owner.config) ? [ONNX_FILE, PLAN_FILE] : [own ?? ONNX_FILE];
  for (const name of names) if (existsSync(join(dir, name))) return join(dir, name);
  const whose = owner === spec ? 'the exported model' : `the exported model of "${owner.name}" (from:)`;
  throw new UserError(
    `${spec.file}: ${whose} is missing: ${display(workspaceRoot, join(dir, names[0]))} does not exist; run the export target first (nx run ${owner.name}:export)`,
  );
}

function isOnnxPath(path: string): boolean {
  return path.endsWith('.onnx');
}

/** What goes into the version directory this project builds. */
function versionSource(workspaceRoot: string, spec: ModelSpec, config: ModelConfig, model: string | undefined, onnx: OnnxSignature | undefined): VersionSource {
  const version = spec.version;
  if (model === undefined) return { version, files: [] };
  // A backend that reads files of its own (vLLM's model.json): the export's files are the version directory.
  if (loadsOwnFiles(config) && basename(model) === VERSION_FILES) return { version, from: model };
  if (isTensorRt(config) && isOnnxPath(model)) {
    const dir = engineDir(workspaceRoot, spec.name);
    if (!existsSync(dir) || readdirSync(dir).length === 0) {
      throw new UserError(`${spec.file}: the TensorRT engine is missing: ${display(workspaceRoot, dir)} is empty or absent; run the engine target first (nx run ${spec.name}:engine)`);
    }
    return { version, from: dir };
  }
  const dest = modelFilename(config) ?? basename(model);
  // Every file comes from the export's directory, resolved there to the last component (issue 22, N2).
  const root = dirname(model);
  if (onnx && onnx.externalData.length > 0 && statSync(model).isFile()) {
    // Triton loads ONNX with external data only in its directory form: <dest>/model.onnx beside the data.
    // One file named twice (`w.bin`, `./w.bin`) is copied once (issue 22, N15).
    return {
      version,
      files: [
        { src: model, dest: `${dest}/${ONNX_FILE}`, root },
        ...uniqueExternalData(onnx.externalData).map((loc) => ({ src: join(root, loc), dest: `${dest}/${loc}`, root })),
      ],
    };
  }
  return { version, files: [{ src: model, dest, root }, ...(isOnnxPath(model) ? [] : exportCompanions(model).map((f) => ({ ...f, root })))] };
}

/** The spec a top-level key of the final config came from (for `from:`, maybe another project). */
function ownerOf(key: string, chain: ModelSpec[]): ModelSpec {
  return chain.find((s) => Object.hasOwn(s.config, key)) ?? chain[0];
}

/** A project file the config names, checked to exist inside the project. */
function projectFile(owner: ModelSpec, path: string, candidates: string[], problems: Diagnostic[]): string | undefined {
  const written = candidates[candidates.length - 1];
  const normal = posix.normalize(written.replace(/\\/g, '/'));
  if (written.includes('\0') || isAbsolute(written) || normal === '..' || normal.startsWith('../')) {
    problems.push(placed(owner, path, `${JSON.stringify(written)} must be a path inside the project directory`));
    return undefined;
  }
  for (const candidate of candidates) {
    const full = resolve(owner.dir, candidate);
    if (!existsSync(full) || !statSync(full).isFile()) continue;
    if (!isInside(realpathSync(owner.dir), realpathSync(full))) {
      problems.push(placed(owner, path, `${JSON.stringify(candidate)} leads outside the project directory (a symbolic link?)`));
      return undefined;
    }
    return full;
  }
  const tried = candidates.map((c) => JSON.stringify(c)).join(' or ');
  problems.push(placed(owner, path, `${tried} does not exist in the project directory ${posix.dirname(owner.file)}`));
  return undefined;
}

/** Label files and warm-up data: Triton reads them from the model directory. */
function extraFiles(config: ModelConfig, chain: ModelSpec[]): FileCopy[] {
  const problems: Diagnostic[] = [];
  const out = new Map<string, string>();
  const outputOwner = ownerOf('output', chain);
  for (const [i, o] of (config.output ?? []).entries()) {
    if (typeof o.label_filename !== 'string' || o.label_filename === '') continue;
    const src = projectFile(outputOwner, `output[${i}].label_filename`, [o.label_filename], problems);
    if (src) out.set(o.label_filename, src);
  }
  const warmupOwner = ownerOf('model_warmup', chain);
  for (const { path, file } of warmupFiles(config)) {
    // The import's check too (issue 22, N18).
    const problem = warmupFileProblem(file);
    if (problem) {
      problems.push(placed(warmupOwner, path, problem));
      continue;
    }
    // Triton reads it from <model>/warmup/; the project may keep it there too, or beside triton.yaml.
    const src = projectFile(warmupOwner, path, [`warmup/${file}`, file], problems);
    if (src) out.set(`warmup/${file}`, src);
  }
  if (problems.length > 0) throw new SpecError(problems);
  return [...out.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([dest, src]) => ({ src, dest }));
}

/** Links in a `previous_versions` directory that lead out of it, as problems at that key (before anything is written). */
function checkPreviousVersion(spec: ModelSpec, n: string, dir: string, problems: Diagnostic[]): void {
  const path = childPath('previous_versions', n);
  let root: string;
  try {
    root = realpathSync(dir);
  } catch {
    return; // the loader reports a missing directory
  }
  const walk = (current: string): void => {
    for (const name of readdirSync(current).sort()) {
      const full = join(current, name);
      const shown = JSON.stringify(relative(spec.dir, full).split(sep).join('/'));
      if (lstatSync(full).isSymbolicLink()) {
        let target: string;
        try {
          target = realpathSync(full);
        } catch {
          problems.push(placed(spec, path, `${shown} is a broken symbolic link`));
          continue;
        }
        if (!isInside(root, target)) {
          problems.push(placed(spec, path, `${shown} is a symbolic link to ${target}, outside the version directory; copy the file in instead`));
          continue;
        }
        if (statSync(target).isDirectory()) continue; // followed (and checked again) by the copy
      } else if (lstatSync(full).isDirectory()) walk(full);
    }
  };
  walk(dir);
}

/** `config.pbtxt`, then the rest; version directories show what they hold. */
function listEntry(entryDir: string): string[] {
  const out = ['config.pbtxt'];
  for (const name of readdirSync(entryDir).sort()) {
    if (name === 'config.pbtxt') continue;
    const full = join(entryDir, name);
    if (!statSync(full).isDirectory()) out.push(name);
    else if (/^[1-9]\d*$/.test(name)) {
      const inside = readdirSync(full).filter((n) => !n.startsWith('.')).sort();
      if (inside.length === 0) out.push(`${name}/`);
      for (const n of inside) out.push(statSync(join(full, n)).isDirectory() ? `${name}/${n}/` : `${name}/${n}`);
    } else out.push(`${name}/`);
  }
  return out;
}

/** Validates one model project and writes its repository entry `<repository>/<name>/`. */
export async function buildModel(opts: BuildModelOptions): Promise<BuiltModel> {
  const { workspaceRoot } = opts;
  const specFile = resolve(workspaceRoot, opts.specFile);
  const spec = loadWorkspaceSpec(workspaceRoot, specFile);
  const { chain, fromSpec, owner } = resolveFromChain(spec, opts);

  const ensemble = isEnsemble(spec.config);
  const model = ensemble || !owner ? undefined : exportedModel(workspaceRoot, spec, owner);
  const onnx = model && isOnnxPath(model) ? await readOnnxSignature(model) : undefined;
  const derived = deriveModelConfig(spec, {
    onnx,
    onnxFile: model ? display(workspaceRoot, model) : undefined,
    fromSpec,
    // TorchScript and python models: I/O from triton.yaml or the torch export's record.
    noSignature: model && !onnx ? { traced: readTorchScriptSignature(dirname(model)) } : undefined,
    // One plan per compute capability (tensorrt.targets): Triton picks the file by the GPU's cc.
    ccModelFilenames: model && onnx && isTensorRt(spec.config) ? engineCcModelFilenames(engineDir(workspaceRoot, spec.name)) : undefined,
  });
  // tensorrt: on an ONNX Runtime model configures its TensorRT execution provider.
  const config = applyTensorRtOptions(spec, derived);

  const versions: VersionSource[] = [versionSource(workspaceRoot, spec, config, model, onnx)];
  const linkProblems: Diagnostic[] = [];
  for (const [n, dir] of Object.entries(spec.previousVersions).sort(([a], [b]) => Number(a) - Number(b))) {
    versions.push({ version: Number(n), from: resolve(spec.dir, dir) });
    checkPreviousVersion(spec, n, resolve(spec.dir, dir), linkProblems);
  }
  if (linkProblems.length > 0) throw new SpecError(linkProblems);
  const header = `# Generated by nx-triton from ${spec.file}; edit that file, not this one.\n`;
  const repository = resolve(workspaceRoot, opts.repository);
  // Listed from the staged entry: once swapped in, a concurrent build of this model may replace it.
  let files: string[] = [];
  await writeModelEntry({
    repository,
    name: spec.name,
    configText: header + toPbtxt(config),
    versions,
    extraFiles: extraFiles(config, chain),
    // Triton's load-time rules, on the staged entry: a model Triton would refuse never replaces a good one.
    check: async (staged) => {
      // With triton_release, every plan's header is checked against the TensorRT that release ships.
      const problems = await validateModel(staged, config, { dirName: spec.name, repository, tritonRelease: spec.tritonRelease ?? opts.tritonRelease });
      if (problems.length > 0) throw new SpecError(problems.map((p) => placed(ownerOf(p.path.split(/[.[]/)[0], chain), p.path, p.message)));
      files = listEntry(staged);
    },
  });
  const entryDir = join(repository, spec.name);
  opts.log?.(`nx-triton: wrote ${display(workspaceRoot, entryDir)} (${files.join(', ')})`);
  return { entryDir, config, files };
}
