import { join, posix } from 'node:path';
import { formatFiles, generateFiles, getProjects, globAsync, logger, readNxJson, type GeneratorCallback, type Tree } from '@nx/devkit';
import { UserError } from '../../lib/errors';
import { DEFAULT_REPOSITORY, modelFilename } from '../../lib/layout';
import { packageRoot } from '../../lib/system/package-root';
import { schemaModeline } from '../../lib/schema/modeline';
import { readSpecSummary, type SpecSummary } from '../../lib/model-spec/summary';
import { normalizeModelOptions, type ModelGeneratorSchema, type ModelOptions, type Platform, type Source } from './options';
import { SPEC_FILE } from '../../lib/layout';

export type { ModelGeneratorSchema } from './options';

/** The example network of `--source torch`: input [batch, 256] -> output [batch, 10]. */
const INPUT_SIZE = 256;
const OUTPUT_SIZE = 10;

interface IoTensor {
  section: 'input' | 'output';
  name: string;
  dataType: string;
  dims: number[];
}

/** Every triton.yaml model of the workspace, by name: its file and summary. */
async function workspaceModels(tree: Tree): Promise<Map<string, { file: string; summary: SpecSummary }>> {
  const models = new Map<string, { file: string; summary: SpecSummary }>();
  for (const file of await globAsync(tree, [`**/${SPEC_FILE}`])) {
    const summary = readSpecSummary(tree.read(file, 'utf8') ?? '', join(tree.root, posix.dirname(file)));
    models.set(summary.name, { file, summary });
  }
  return models;
}

/** Names of every project and every triton.yaml model in the workspace. */
async function takenNames(tree: Tree): Promise<Set<string>> {
  return new Set([...getProjects(tree).keys(), ...(await workspaceModels(tree)).keys()]);
}

/** `--from` takes the ONNX file another model project makes: it must be an ONNX model. */
async function checkFromModel(tree: Tree, from: string): Promise<void> {
  const model = (await workspaceModels(tree)).get(from);
  if (!model) throw new UserError(`--from: no model named ${JSON.stringify(from)} in the workspace`);
  const { platform, backend } = model.summary;
  const onnx = platform === 'onnxruntime_onnx' || (platform === undefined && backend === 'onnxruntime');
  if (!onnx) {
    const what = platform ?? (backend ? `backend ${backend}` : 'platform-less');
    throw new UserError(
      `--from: ${from} (${model.file}) is a ${what} model and makes no ONNX file; ` +
        '--from builds a TensorRT engine from an ONNX model (platform: onnxruntime_onnx)',
    );
  }
}

function directoryTaken(tree: Tree, directory: string): boolean {
  return tree.exists(directory) && (tree.isFile(directory) || tree.children(directory).length > 0);
}

/** The model's name and directory: the ones asked for, or with --force `<name>_<n>`, the lowest n free. */
async function placeModel(tree: Tree, options: ModelOptions): Promise<{ name: string; directory: string }> {
  const taken = await takenNames(tree);
  const place = (name: string, suffix: string) => ({
    name,
    directory: options.directory === undefined ? `models/${name}` : options.directory + suffix,
  });
  const free = ({ name, directory }: { name: string; directory: string }) => !taken.has(name) && !directoryTaken(tree, directory);

  const wanted = place(options.name, '');
  if (free(wanted)) return wanted;
  if (!options.force) throw new UserError(`Model ${options.name} already exists`);
  for (let n = 0; ; n++) {
    const candidate = place(`${options.name}_${n}`, `_${n}`);
    // An explicit --directory that is still free keeps its place under the new name.
    if (options.directory !== undefined && !directoryTaken(tree, options.directory)) candidate.directory = options.directory;
    if (free(candidate)) return candidate;
  }
}

function defaultSource(options: ModelOptions): Source | undefined {
  if (options.source) return options.source;
  if (options.from || options.platform === 'ensemble') return undefined;
  return options.platform === 'python' ? 'file' : 'torch';
}

/** What the scaffold lists under input/output, and whether Triton needs it listed. */
function ioFor(platform: Platform, batched: boolean, source: Source | undefined): { io: IoTensor[]; ioRequired: boolean } {
  const dims = (n: number) => (batched ? [n] : [-1, n]);
  if (platform === 'python' || platform === 'ensemble') {
    const io: IoTensor[] = [
      { section: 'input', name: 'INPUT0', dataType: 'fp32', dims: dims(4) },
      { section: 'output', name: 'OUTPUT0', dataType: 'fp32', dims: dims(4) },
    ];
    return { io, ioRequired: true };
  }
  const io: IoTensor[] = [
    { section: 'input', name: 'input', dataType: 'fp32', dims: dims(INPUT_SIZE) },
    { section: 'output', name: 'output', dataType: 'fp32', dims: dims(OUTPUT_SIZE) },
  ];
  // TorchScript carries no tensor names or types: a libtorch model lists them, unless export.torch
  // traces it (the export then reads them from the module: names from input_shapes/output_names).
  return { io, ioRequired: platform === 'pytorch_libtorch' && source !== 'torch' };
}

function repositoryOption(tree: Tree): string {
  for (const entry of readNxJson(tree)?.plugins ?? []) {
    if (typeof entry === 'object' && entry.plugin === 'nx-triton') {
      const repository = (entry.options as { repository?: unknown } | undefined)?.repository;
      if (typeof repository === 'string' && repository !== '') return repository.replace(/^\.\//, '').replace(/\/+$/, '');
    }
  }
  return DEFAULT_REPOSITORY;
}

export async function modelGenerator(tree: Tree, schema: ModelGeneratorSchema): Promise<GeneratorCallback> {
  const options = normalizeModelOptions(schema);
  if (options.from) await checkFromModel(tree, options.from);
  const { name, directory } = await placeModel(tree, options);
  const source = defaultSource(options);
  const backend = options.platform === 'python' ? 'python' : undefined;
  const modelFile =
    options.platform === 'tensorrt_plan'
      ? 'model.onnx' // the engine target turns the ONNX file into a plan
      : modelFilename(backend ? { backend } : { platform: options.platform }) ?? 'model.onnx';

  const substitutions = {
    schemaLine: schemaModeline(directory).trimEnd(),
    name,
    declareName: posix.basename(directory) !== name,
    repository: repositoryOption(tree),
    platform: options.platform,
    backend,
    from: options.from,
    maxBatchSize: options.maxBatchSize,
    instanceGroups: options.instanceGroups,
    source,
    modelFile,
    inputSize: INPUT_SIZE,
    outputSize: OUTPUT_SIZE,
    // A `from:` model inherits the I/O of its source model.
    dynamicBatching: options.dynamicBatching,
    preferredBatchSizes: options.preferredBatchSizes,
    ...(options.from ? { io: [], ioRequired: false } : ioFor(options.platform, (options.maxBatchSize ?? 0) > 0, source)),
  };
  const templates = join(packageRoot(), 'generators', 'model', 'files');
  generateFiles(tree, join(templates, 'spec'), directory, substitutions);
  if (source === 'torch') generateFiles(tree, join(templates, 'torch'), directory, substitutions);
  if (options.platform === 'python' && source === 'file') generateFiles(tree, join(templates, 'python'), directory, substitutions);

  if (!options.skipFormat) await formatFiles(tree);
  return () => {
    const hint = source === 'command' ? ` (after writing ${directory}/export.py)` : source === 'file' && options.platform !== 'python' ? ` (after putting the model at ${directory}/${modelFile})` : '';
    logger.info(`Created model ${name} in ${directory}/. Next: nx run ${name}:build${hint}`);
  };
}

export default modelGenerator;
