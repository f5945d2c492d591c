import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { UserError } from '../../lib/errors';
import { onnxDigest } from '../../lib/engine/key';
import { runExport } from '../../lib/targets/export';
import { readRepository } from '../../lib/import';
import { readOnnxSignature } from '../../lib/onnx';
import { buildModel } from '../../lib/targets/build';
import { copyPath } from '../../lib/system/copy-tree';
import { checkRepository } from '../../lib/repository/validate-repository';
import { parsePbtxt } from '../../proto/text-format';
import { loadSpec } from '../../lib/model-spec';
import { ABS_ONNX, changed, REPO_ROOT, rmrf, snapshot, tempRoot } from './helpers';

const ONNX_TESTDATA = join(REPO_ROOT, 'test/onnx-testdata.py');

/** The If/Loop/Constant model of test/onnx-testdata.py, its data files beside it in `dir`. */
function nestedOnnx(dir: string): void {
  execFileSync('/usr/bin/python3', [ONNX_TESTDATA, 'make-nested', dir, '1']);
}

// root/ holds the workspace and, beside it, files a hostile spec might try to reach or overwrite.
let root: string;
let ws: string;
let n = 0;
let dir: string;
let before: Map<string, string>;

beforeAll(() => {
  root = tempRoot('hostile');
  ws = join(root, 'ws');
  mkdirSync(join(root, 'secret'), { recursive: true });
  writeFileSync(join(root, 'secret/secret.txt'), 'do not copy me\n');
  mkdirSync(ws);
});
afterAll(() => rmrf(root));
beforeEach(() => {
  n += 1;
  dir = join(ws, 'models', `m${n}`);
});

/** A project `models/m<n>/` with its triton.yaml, other files, and an export already made. */
function project(yaml: string | Buffer, files: Record<string, string | Buffer> = {}): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'triton.yaml'), yaml);
  writeFileSync(join(dir, 'model.onnx'), readFileSync(ABS_ONNX));
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
  for (const name of [`m${n}`, 'evil']) {
    mkdirSync(join(ws, 'dist/models', name, 'export'), { recursive: true });
    writeFileSync(join(ws, 'dist/models', name, 'export/model.onnx'), readFileSync(ABS_ONNX));
  }
  before = snapshot(root);
}

const specFile = () => join(dir, 'triton.yaml');
const shown = () => `models/m${n}/triton.yaml`;

/** The one error a build of the project gives; checks it is ours (no stack) and wrote nothing. */
async function refused(p: () => Promise<unknown>, allowed: RegExp = /^$/): Promise<string> {
  const err = await p().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UserError);
  const message = (err as Error).message;
  expect(message).not.toMatch(/\n\s+at /);
  const after = snapshot(root);
  expect(changed(before, after).filter((p) => !allowed.test(p))).toEqual([]);
  // Nor was the outside file copied anywhere, even where writing is allowed.
  const secret = after.get('secret/secret.txt');
  expect([...after].filter(([p, hash]) => hash === secret && p !== 'secret/secret.txt')).toEqual([]);
  return message;
}

function build(): Promise<unknown> {
  return buildModel({ workspaceRoot: ws, specFile: specFile(), repository: 'dist/model-repository', resolveSpecFile: () => undefined });
}

async function exportIt(): Promise<unknown> {
  const spec = loadSpec(specFile(), { displayPath: shown() });
  return runExport({ spec, workspaceRoot: ws, python: '/usr/bin/python3' });
}

const SRC = 'export: { file: model.onnx }\n';

describe('names and paths that try to leave their directories', () => {
  it('name: ../evil', async () => {
    project(`name: ../evil\n${SRC}`);
    expect(await refused(build)).toBe(
      `${shown()}:1:1: name: a model name cannot contain "/" or "\\" (got "../evil")`,
    );
  });
  it('name: /abs', async () => {
    project(`name: /abs\n${SRC}`);
    expect(await refused(build)).toBe(
      `${shown()}:1:1: name: a model name cannot contain "/" or "\\" (got "/abs")`,
    );
  });
  it('export.file: ../../etc/passwd', async () => {
    project('export: { file: ../../etc/passwd }\n');
    expect(await refused(build)).toBe(
      `${shown()}:1:11: export.file: "../../etc/passwd" leads outside the project directory`,
    );
  });
  it('an absolute export.file', async () => {
    project(`export: { file: ${join(root, 'secret/secret.txt')} }\n`);
    expect(await refused(build)).toBe(
      `${shown()}:1:11: export.file: "${root}/secret/secret.txt" must be a path relative to the project directory, not an absolute path`,
    );
  });
  it('export.file that is a link to outside the project', async () => {
    project(SRC.replace('model.onnx', 'linked.onnx'));
    symlinkSync(join(root, 'secret/secret.txt'), join(dir, 'linked.onnx'));
    before = snapshot(root);
    expect(await refused(build)).toBe(
      `${shown()}:1:11: export.file: "linked.onnx" resolves (through a link) to a place outside the project directory`,
    );
  });
  it('a link inside an exported directory that points outside the project', async () => {
    project('platform: onnxruntime_onnx\nexport: { file: onnxdir }\n', { 'onnxdir/model.onnx': readFileSync(ABS_ONNX) });
    symlinkSync(join(root, 'secret/secret.txt'), join(dir, 'onnxdir/weights.bin'));
    before = snapshot(root);
    expect(await refused(exportIt, new RegExp(`^ws/dist/models/m${n}/`))).toBe(
      `${shown()}:2:11: export.file: "onnxdir/weights.bin" is a link to ${root}/secret/secret.txt, outside the project directory`,
    );
  });
  it('previous_versions pointing outside', async () => {
    project(`${SRC}version: 2\nprevious_versions: { "1": ../../../secret }\n`);
    expect(await refused(build)).toBe(
      `${shown()}:3:22: previous_versions["1"]: "../../../secret" leads outside the project directory`,
    );
  });
  it('a link inside a previous_versions directory that points outside', async () => {
    project(`${SRC}version: 2\nprevious_versions: { "1": v1 }\n`, { 'v1/model.onnx': readFileSync(ABS_ONNX) });
    symlinkSync(join(root, 'secret'), join(dir, 'v1/stolen'));
    before = snapshot(root);
    expect(await refused(build)).toBe(
      `${shown()}:3:22: previous_versions["1"]: "v1/stolen" is a symbolic link to ${root}/secret, outside the version directory; copy the file in instead`,
    );
  });
  it('checkpoint: ../x', async () => {
    project('export:\n  torch: { model: "net:build", checkpoint: ../x }\n', { 'net.py': '' });
    expect(await refused(build)).toBe(
      `${shown()}:2:32: export.torch.checkpoint: "../x" leads outside the project directory`,
    );
  });
  it('label_filename: ../../secret', async () => {
    project(`${SRC}output: [{ name: y, data_type: fp32, dims: [3, 4, 5], label_filename: ../../secret }]\n`);
    expect(await refused(build)).toBe(
      `${shown()}:2:55: output[0].label_filename: "../../secret" must be a path inside the project directory`,
    );
  });
  it('a label file that is a link to outside', async () => {
    project(`${SRC}output: [{ name: y, data_type: fp32, dims: [3, 4, 5], label_filename: labels.txt }]\n`);
    symlinkSync(join(root, 'secret/secret.txt'), join(dir, 'labels.txt'));
    before = snapshot(root);
    expect(await refused(build)).toBe(
      `${shown()}:2:55: output[0].label_filename: "labels.txt" leads outside the project directory (a symbolic link?)`,
    );
  });
  it('a warm-up input_data_file escaping', async () => {
    project(
      `${SRC}model_warmup:\n  - name: w\n    batch_size: 1\n    inputs:\n      x: { data_type: fp32, dims: [3, 4, 5], input_data_file: ../../../secret/secret.txt }\n`,
    );
    expect(await refused(build)).toBe(
      `${shown()}:6:46: model_warmup[0].inputs.x.input_data_file: "../../../secret/secret.txt" cannot be used: it goes up with ".." (Triton reads warm-up data from the model's warmup/ directory)`,
    );
  });
});

describe('hostile values', () => {
  it('an export command given as a string', async () => {
    project('export: { command: "rm -rf /" }\n');
    expect(await refused(build)).toBe(
      `${shown()}:1:11: export.command: must be a list of arguments (argv), not a shell string`,
    );
  });
  it('a YAML alias bomb', async () => {
    const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 10; i++) lines.push(`a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]`);
    project(`${SRC}parameters:\n${lines.map((l) => `  ${l}`).join('\n')}\n`);
    expect(await refused(build)).toBe(
      `${shown()}:4:12: too many YAML aliases: the file would expand to a huge document (an alias bomb?)`,
    );
  });
  it('max_batch_size: 1e400', async () => {
    project(`${SRC}max_batch_size: 1e400\n`);
    expect(await refused(build)).toBe(
      `${shown()}:2:1: max_batch_size: expected an integer, got number 1e400`,
    );
  });
  it('max_batch_size: 99999999999999999999', async () => {
    project(`${SRC}max_batch_size: 99999999999999999999\n`);
    expect(await refused(build)).toBe(
      `${shown()}:2:1: max_batch_size: 99999999999999999999 is out of range for int32 (-2147483648 to 2147483647)`,
    );
  });
  it('non-UTF-8 bytes', async () => {
    project(Buffer.concat([Buffer.from(`${SRC}platform: onnx`), Buffer.from([0xff, 0xfe]), Buffer.from('\n')]));
    expect(await refused(build)).toBe(
      `${shown()}:2:15: the file is not UTF-8 text (invalid byte 0xff at offset 43)`,
    );
  });
  it('a 10 MiB triton.yaml', async () => {
    project(`${SRC}# ${'x'.repeat(10 * 1024 * 1024)}\n`);
    expect(await refused(build)).toBe(
      `${shown()}:1:1: the file is 10485792 bytes; a triton.yaml may be at most 1048576 bytes (1 MiB)`,
    );
  });
});

describe('external data below the main graph (If/Loop bodies, Constant nodes)', () => {
  it('travels into the repository entry and keys the engine', async () => {
    project(SRC);
    nestedOnnx(dir);
    await exportIt();
    await build();
    const entry = join(ws, `dist/model-repository/m${n}/1/model.onnx`);
    expect(readdirSync(entry).sort()).toEqual(['else.bin', 'loop.bin', 'model.onnx', 'sparse.bin', 'then.bin']);
    expect(readFileSync(join(entry, 'then.bin'))).toEqual(readFileSync(join(dir, 'then.bin')));

    const exported = join(ws, `dist/models/m${n}/export/model.onnx`);
    const key = async () => onnxDigest(exported, (await readOnnxSignature(exported)).externalData);
    const first = await key();
    expect(Object.keys(first.external_data)).toEqual(['else.bin', 'loop.bin', 'sparse.bin', 'then.bin']);
    writeFileSync(join(dir, 'then.bin'), Buffer.alloc(4096, 7)); // other weights for the then-branch's Constant
    await exportIt();
    expect(readFileSync(join(dir, 'model.onnx'))).toEqual(readFileSync(exported));
    const second = await key();
    expect(second.sha256).toBe(first.sha256);
    expect(second.external_data['then.bin']).not.toBe(first.external_data['then.bin']);
  });

  it("a Constant's external location that leads outside is refused", async () => {
    project(SRC);
    nestedOnnx(dir);
    const evil = '../../../secret/secret.txt';
    // the onnx package rewrites one Constant's location inside the If's then-branch
    execFileSync('/usr/bin/python3', [
      '-c',
      `import onnx, sys
m = onnx.load(sys.argv[1], load_external_data=False)
then = next(a.g for a in m.graph.node[0].attribute if a.name == "then_branch")
loc = next(e for e in then.node[0].attribute[0].t.external_data if e.key == "location")
loc.value = sys.argv[2]
onnx.save(m, sys.argv[1])`,
      join(dir, 'model.onnx'),
      evil,
    ]);
    before = snapshot(root);
    expect(await refused(exportIt, new RegExp(`^ws/dist/models/m${n}/`))).toBe(
      `${shown()}:1:11: export.file: "model.onnx" names external data ${JSON.stringify(evil)}, which cannot be used: it leads outside the directory of the ONNX file`,
    );
  });
});

describe('crafted config.pbtxt files', () => {
  let aside: string;
  beforeAll(() => {
    aside = tempRoot('crafted');
  });
  afterAll(() => rmrf(aside));

  it('a 300 KB string parses (no RangeError)', () => {
    const long = 'x'.repeat(300_000);
    const config = parsePbtxt(`parameters { key: "k" value { string_value: "${long}" "${long}" } }\n`, 'big/config.pbtxt');
    expect(config.parameters).toEqual({ k: { string_value: long + long } });
  });

  it('a FIFO as config.pbtxt: validate and import answer at once, naming the file', async () => {
    const repo = join(aside, 'fifo-repo'); // not under root: snapshot() would block reading the FIFO
    mkdirSync(join(repo, 'm/1'), { recursive: true });
    execFileSync('mkfifo', [join(repo, 'm/config.pbtxt')]);
    const report = await checkRepository(repo);
    expect(report.problems).toEqual([{ model: 'm', path: '', message: 'not a regular file (a FIFO)' }]);
    expect(readRepository(repo, 'fifo-repo').errors).toEqual(['fifo-repo/m/config.pbtxt: not a regular file (a FIFO)']);
  });

  it('200k bad inputs: validate lists 200k problems (no RangeError)', async () => {
    const repo = join(aside, 'wide-repo');
    mkdirSync(join(repo, 'm/1'), { recursive: true });
    writeFileSync(join(repo, 'm/1/model.onnx'), readFileSync(ABS_ONNX));
    const inputs = Array.from({ length: 200_000 }, (_, i) => `input { name: "x${i}" data_type: TYPE_FP32 dims: [ 0 ] }\n`);
    writeFileSync(join(repo, 'm/config.pbtxt'), `platform: "onnxruntime_onnx"\n${inputs.join('')}`);
    const { problems } = await checkRepository(repo);
    const dims = problems.filter((p) => /^input\[\d+\]\.dims\[0\]$/.test(p.path));
    expect(dims.length).toBe(200_000);
    expect(dims[199_999]).toEqual({
      model: 'm',
      path: 'input[199999].dims[0]',
      message: 'dimension must be an integer >= 1, or -1 for a variable-size dimension, got 0',
    });
  }, 120_000);
});

describe('copying out of a tree through a linked directory', () => {
  it('a file below a directory link that leads outside the root is refused, not copied', async () => {
    const tree = join(root, 'tree');
    mkdirSync(tree);
    symlinkSync(join(root, 'secret'), join(tree, 'ext'));
    before = snapshot(root);
    expect(await refused(() => copyPath(join(tree, 'ext/secret.txt'), join(root, 'copied.txt'), tree))).toBe(
      `${tree}/ext/secret.txt leads through a symbolic link to ${root}/secret/secret.txt, outside ${tree}; copy the file in instead`,
    );
  });
});
