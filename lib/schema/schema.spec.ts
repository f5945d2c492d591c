import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import Ajv, { type ErrorObject } from 'ajv';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { parse } from 'yaml';
import { getLanguageService } from 'yaml-language-server';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelGenerator } from '../../generators/model/generator';
import type { ModelGeneratorSchema } from '../../generators/model/options';
import { SpecError } from '../errors';
import { parseSpec } from '../model-spec/load';
import { PLUGIN_KEY_SCHEMA, PLUGIN_KEYS } from '../model-spec/plugin-keys';
import { buildSchema, probePluginKeys, schemaText } from './build';
import { INSTALLED_SCHEMA, schemaModeline } from './modeline';

const repoRoot = join(__dirname, '..', '..');
const schema = buildSchema();
const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);

/** The key path of an ajv error, as segments (`/instance_group/0/kind` -> instance_group, 0, kind). */
function ajvPaths(errors: ErrorObject[]): string[] {
  return errors.map((e) => {
    const segments = e.instancePath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
    const extra = (e.params as { additionalProperty?: string; propertyName?: string }).additionalProperty ?? (e.params as { propertyName?: string }).propertyName;
    if (extra !== undefined) segments.push(extra);
    return segments.join('/');
  });
}

/** The checker's key path as the same segments (`instance_group[0].kind`, `previous_versions["01"]`). */
function checkerPath(path: string): string {
  const segments: string[] = [];
  for (const m of path.matchAll(/([^.[\]]+)|\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]/g)) segments.push(m[1] ?? m[2] ?? JSON.parse(`"${m[3]}"`));
  return segments.join('/');
}

function checkerProblems(text: string): string[] {
  try {
    parseSpec(text, 'models/my_nn/triton.yaml', join(tmpdir(), 'my_nn'), { checkFiles: false });
  } catch (err) {
    if (err instanceof SpecError) return err.diagnostics.map((d) => checkerPath(d.path));
    throw err;
  }
  return [];
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return yamlFiles(path);
    return name === 'triton.yaml' ? [path] : [];
  });
}

async function generated(options: ModelGeneratorSchema[]): Promise<Array<[string, string]>> {
  const tree = createTreeWithEmptyWorkspace({ formatter: 'none' });
  for (const o of options) await modelGenerator(tree, { skipFormat: true, ...o });
  return tree
    .listChanges()
    .filter((c) => c.path.endsWith('/triton.yaml'))
    .map((c) => [c.path, c.content?.toString('utf8') ?? '']);
}

describe('schemas/triton.schema.json, generated from the proto and the checker', () => {
  it('covers every field of inference.ModelConfig and every plugin key, with descriptions', () => {
    const properties = schema.properties as Record<string, { description?: string }>;
    for (const key of ['max_batch_size', 'instance_group', 'dynamic_batching', 'sequence_batching', 'model_warmup', 'response_cache', ...PLUGIN_KEYS]) {
      expect(properties[key], key).toBeDefined();
      expect(properties[key].description, key).toMatch(/\w/);
    }
    const kind = (schema.definitions as Record<string, { enum: string[] }>)['inference.ModelInstanceGroup.Kind'];
    expect(kind.enum).toEqual(['KIND_AUTO', 'KIND_GPU', 'KIND_CPU', 'KIND_MODEL', 'auto', 'gpu', 'cpu', 'model']);
    const dataType = (schema.definitions as Record<string, { enum: string[] }>)['inference.DataType'];
    expect(dataType.enum).toEqual(expect.arrayContaining(['TYPE_FP32', 'fp32', 'float32', 'half', 'bytes']));
    expect(schemaText()).toBe(`${JSON.stringify(schema, null, 2)}\n`);
  });

  it('every plugin key the checker knows is in the schema, declared with its schema in lib/model-spec/plugin-keys.ts', () => {
    const tree = probePluginKeys();
    const paths = [...tree.entries()].flatMap(([parent, keys]) => keys.map((k) => (parent ? `${parent}.${k}` : k)));
    expect(paths).toEqual(expect.arrayContaining(['version', 'export.torch.model', 'tensorrt.precision']));
    const undescribed = paths.filter((p) => PLUGIN_KEY_SCHEMA[p] === undefined);
    expect(undescribed, 'declare these keys with a schema in their table (lib/model-spec/plugin-keys.ts)').toEqual([]);
    const torch = (schema.properties as any).export.properties.torch;
    expect(Object.keys(torch.properties)).toEqual(tree.get('export.torch'));
    expect(torch.additionalProperties).toBe(false);
  });

  it('every example and every generated triton.yaml is valid', async () => {
    const files: Array<[string, string]> = yamlFiles(join(repoRoot, 'examples')).map((f) => [f, readFileSync(f, 'utf8')]);
    expect(files.length).toBeGreaterThanOrEqual(3);
    files.push(
      ...(await generated([
        { name: 'a', maxBatchSize: 64, instanceGroup: ['gpu:4', 'cpu:2'] },
        { name: 'b', from: 'a' },
        { name: 'c', platform: 'pytorch_libtorch', maxBatchSize: 8 },
        { name: 'd', platform: 'python' },
        { name: 'e', platform: 'ensemble' },
        { name: 'f', source: 'command' },
        { name: 'g', source: 'file', directory: 'libs/ml/g' },
        { name: 'h', maxBatchSize: 16, preferredBatchSize: [4, 8] },
        { name: 'i', platform: 'pytorch_libtorch', maxBatchSize: 8, dynamicBatching: false },
      ])),
    );
    for (const [file, text] of files) {
      expect(validate(parse(text)), `${file}: ${JSON.stringify(validate.errors)}`).toBe(true);
    }
  });

  // A sample of lib/model-spec/load.spec.ts's bad specs: the schema refuses each at the key the checker names.
  const BAD: Array<[string, string]> = [
    ['unknown enum value', 'instance_group:\n  - count: 4\n    kind: gpuu\n'],
    ['misspelt key', 'max_batchsize: 8\n'],
    ['camelCase key', 'maxBatchSize: 8\n'],
    ['nested unknown key', 'instance_group: [{kindd: gpu}]\n'],
    ['bool as yes', 'dynamic_batching:\n  preserve_ordering: yes\n'],
    ['number for a string', 'backend: 12\n'],
    ['null for a string', 'platform:\n'],
    ['int32 overflow', 'max_batch_size: 3000000000\n'],
    ['negative uint64', 'dynamic_batching: { max_queue_delay_microseconds: -1 }\n'],
    ['fraction for an integer', 'max_batch_size: 1.5\n'],
    ['scalar where a list is needed', 'input:\n  - name: x\n    dims: 8\n'],
    ['map key of the wrong type', 'dynamic_batching:\n  priority_queue_policy:\n    high: {}\n'],
    ['unknown data type', 'output:\n  - name: y\n    data_type: fp33\n'],
    ['a number for an enum', 'instance_group: [{ kind: 1 }]\n'],
    ['a list for a message', 'dynamic_batching: [8, 16]\n'],
    ['version 0', 'version: 0\n'],
    ['previous version with a leading zero', 'previous_versions: { "01": old/v1 }\n'],
    ['export.command as a shell string', 'export:\n  command: python export.py --out model.onnx\n'],
    ['export.command empty', 'export:\n  command: []\n'],
    ['unknown export source', 'export:\n  files: model.onnx\n'],
    ['torch model not module:callable', 'export:\n  torch:\n    model: net.build\n'],
    ['misspelt torch key', 'export:\n  torch:\n    model: net:build\n    checkpont: weights/nn.pt\n'],
    ['opset out of range', 'export:\n  torch: { model: "net:build", opset: 30 }\n'],
    ['zero dim in input_shapes', 'export:\n  torch: { model: "net:build", input_shapes: { x: [null, 0] } }\n'],
    ['unknown precision', 'tensorrt: { precision: fp17 }\n'],
    ['bad workspace', 'tensorrt:\n  workspace: 4 gigs\n'],
    ['optimization level out of range', 'tensorrt:\n  builder_optimization_level: 7\n'],
    ['unknown hardware compatibility', 'tensorrt:\n  hardware_compatibility: ampere\n'],
    ['builder that is not http', 'tensorrt:\n  builders: ["ftp://x"]\n'],
    ['misspelt tensorrt key', 'tensorrt:\n  timing_cash: true\n'],
  ];
  it.each(BAD)('refuses %s at the key the checker names', (_what, body) => {
    const text = body;
    const [checker, ...more] = checkerProblems(text);
    expect(more).toEqual([]);
    expect(validate(parse(text))).toBe(false);
    expect(ajvPaths(validate.errors ?? [])).toContain(checker);
  });

  it('refuses two members of a oneof, as the checker does', () => {
    for (const text of ['version_policy:\n  all: {}\n  latest: { num_versions: 2 }\n', 'dynamic_batching: {}\nsequence_batching: {}\n']) {
      expect(checkerProblems(text)).toHaveLength(1);
      expect(validate(parse(text))).toBe(false);
      expect(validate(parse(text.split('\n').filter((l) => !/latest|sequence/.test(l)).join('\n')))).toBe(true);
    }
  });
});

describe('the schema in an editor: yaml-language-server', () => {
  let workspace: string;
  beforeAll(() => {
    // A user's workspace: the installed package's schema, and a triton.yaml that points at it.
    workspace = mkdtempSync(join(tmpdir(), 'nx-triton-yls-'));
    mkdirSync(join(workspace, 'node_modules/nx-triton/schemas'), { recursive: true });
    writeFileSync(join(workspace, INSTALLED_SCHEMA), schemaText());
  });
  afterAll(() => rmSync(workspace, { recursive: true, force: true }));

  it('completes instance_group[0].kind from the generated triton.yaml\'s $schema line', async () => {
    const [[path, text]] = await generated([{ name: 'my_nn', maxBatchSize: 8 }]);
    expect(text.split('\n')[0]).toBe('# yaml-language-server: $schema=../../node_modules/nx-triton/schemas/triton.schema.json');
    expect(text.startsWith(schemaModeline('models/my_nn'))).toBe(true);
    const file = join(workspace, path);
    const content = `${text}instance_group:\n  - count: 1\n    kind: `;
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, content);

    const requested: string[] = [];
    const service = getLanguageService({
      schemaRequestService: async (uri: string) => {
        requested.push(uri);
        return readFileSync(new URL(uri), 'utf8');
      },
      workspaceContext: { resolveRelativePath: (relative: string, resource: string) => new URL(relative, resource).toString() },
    });
    service.configure({ validate: true, completion: true, hover: true });
    const document = TextDocument.create(pathToFileURL(file).toString(), 'yaml', 1, content);
    const lines = content.split('\n');
    const list = await service.doComplete(document, { line: lines.length - 1, character: lines[lines.length - 1].length }, false);
    const labels = list.items.map((i) => i.label);
    expect(requested).toEqual([pathToFileURL(join(workspace, INSTALLED_SCHEMA)).toString()]);
    expect(labels).toEqual(expect.arrayContaining(['KIND_GPU', 'KIND_CPU', 'KIND_AUTO', 'KIND_MODEL', 'gpu', 'cpu']));

    // And the same service flags a bad value at its place.
    const bad = TextDocument.create(pathToFileURL(file).toString(), 'yaml', 2, `${text}instance_group:\n  - kind: gpuu\n`);
    const problems = await service.doValidation(bad, false);
    expect(problems.map((p) => p.range.start.line)).toContain(bad.getText().split('\n').length - 2);
  });
});
