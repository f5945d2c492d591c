import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterEach, describe, expect, it } from 'vitest';
import { DEBIAN_PYTHON, requirePython, TORCH_PYTHONS } from '../../test/pythons';
import { failure, Workspace } from '../../test/platforms/workspace';
import { TORCH_MODULES_PY } from '../../test/torch-models';
import { readOnnxSignature } from '../onnx';

/**
 * The torch export on every torch the suite has (Debian's 1.13, PyPI's 2.x), with every ONNX
 * exporter that torch has: the defects of issue 10 (inputs bound by position, no way to choose example
 * values, a batch size baked into the graph) and the export's messages.
 */

const NET_PY = `${TORCH_MODULES_PY}

def text():
    return Text(vocab=50, dim=16, heads=2, feedforward=32, layers=1, classes=2)

class Pair(torch.nn.Module):
    def forward(self, a, b):
        return a - 2 * b

def pair():
    return Pair()

class Varargs(torch.nn.Module):
    def forward(self, *tensors):
        return tensors[0] - tensors[1]

def varargs():
    return Varargs()
`;

/** ids 1..49, and a mask whose second row ends in padding. */
const IDS = Array.from({ length: 32 }, (_, i) => 1 + ((i * 7) % 49));
const MASK = Array.from({ length: 32 }, (_, i) => (i >= 28 ? 0 : 1));

/** torch's own output of net.py's `text()` (built under seed 0, as the export builds it), called by keyword. */
function torchTextScores(python: string, dir: string): number[] {
  const script = [
    'import json, sys, torch',
    'sys.path.insert(0, sys.argv[1])',
    'import net',
    'torch.manual_seed(0)',
    'm = net.text().eval()',
    'ids = torch.tensor(json.loads(sys.argv[2])).reshape(2, 16)',
    'mask = torch.tensor(json.loads(sys.argv[3])).reshape(2, 16)',
    'with torch.no_grad():',
    '    print(json.dumps(m(input_ids=ids, attention_mask=mask).flatten().tolist()))',
  ].join('\n');
  return JSON.parse(execFileSync(python, ['-c', script, dir, JSON.stringify(IDS), JSON.stringify(MASK)], { encoding: 'utf8', env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } }));
}

async function runOnnx(file: string, feeds: Record<string, ort.Tensor>): Promise<{ inputNames: readonly string[]; out: Record<string, ort.Tensor> }> {
  const session = await ort.InferenceSession.create(file);
  try {
    return { inputNames: session.inputNames, out: await session.run(feeds) };
  } finally {
    await session.release();
  }
}

const int64 = (values: number[], dims: number[]) => new ort.Tensor('int64', BigInt64Array.from(values.map(BigInt)), dims);

function textYaml(platform: string, exporter: string | undefined, extra = ''): string {
  return `platform: ${platform}
max_batch_size: 4
export:
  torch:
    model: net:text
    # listed in the other order than forward(self, input_ids, attention_mask)
    input_shapes: { attention_mask: [null, 16], input_ids: [null, 16] }
    example_inputs: { input_ids: { randint: [0, 50] } }
    output_names: [score]
${exporter ? `    exporter: ${exporter}\n` : ''}${extra}`;
}

const TYPED_INPUTS = `input:
  - { name: attention_mask, data_type: int64, dims: [16] }
  - { name: input_ids, data_type: int64, dims: [16] }
`;

let ws: Workspace | undefined;
afterEach(() => ws?.dispose());

function expectClose(got: ArrayLike<number>, want: number[], tolerance = 1e-4): void {
  expect(got.length).toBe(want.length);
  Array.from(got).forEach((g, i) => expect(Math.abs(g - want[i])).toBeLessThan(tolerance));
}

for (const { label, path } of TORCH_PYTHONS) {
  const python = () => requirePython(path);
  const torch2 = label.startsWith('torch 2');
  const exporters = torch2 ? ['dynamo', 'torchscript'] : ['torchscript'];

  describe(`export.torch on ${label}`, () => {
    for (const exporter of exporters) {
      describe(`${exporter} exporter`, () => {
        it('binds input_shapes to forward() by name, in any order; the gate passes and verify.json records the errors', async () => {
          ws = new Workspace(python());
          const dir = ws.project('text', TYPED_INPUTS + textYaml('onnxruntime_onnx', exporter), { 'net.py': NET_PY });
          const model = await ws.export('text');
          const { inputNames, out } = await runOnnx(model, { input_ids: int64(IDS, [2, 16]), attention_mask: int64(MASK, [2, 16]) });
          expect(inputNames).toEqual(['attention_mask', 'input_ids']);
          expectClose(out.score.data as Float32Array, torchTextScores(python(), dir));
          const record = JSON.parse(readFileSync(join(model, '..', 'verify.json'), 'utf8'));
          expect(record.exporter).toBe(exporter);
          // batch 1 and max_batch_size 4
          expect(record.cases.map((c: { inputs: Record<string, number[]> }) => c.inputs)).toEqual([
            { attention_mask: [1, 16], input_ids: [1, 16] },
            { attention_mask: [4, 16], input_ids: [4, 16] },
          ]);
          for (const c of record.cases) {
            expect(c.outputs).toHaveLength(1);
            expect(c.outputs[0]).toMatchObject({ output: 'score', dtype: 'float32', failing: 0 });
            expect(c.outputs[0].max_abs_err).toBeLessThan(1e-4);
          }
        });

        it('feeds two inputs listed in the other order than forward(a, b) to the right parameters', async () => {
          ws = new Workspace(python());
          ws.project(
            'pair',
            `platform: onnxruntime_onnx
max_batch_size: 4
export:
  torch:
    model: net:pair
    input_shapes: { b: [null, 3], a: [null, 3] }
${torch2 ? `    exporter: ${exporter}\n` : ''}`,
            { 'net.py': NET_PY },
          );
          const { out } = await runOnnx(await ws.export('pair'), {
            a: new ort.Tensor('float32', Float32Array.from([10, 20, 30]), [1, 3]),
            b: new ort.Tensor('float32', Float32Array.from([1, 2, 3]), [1, 3]),
          });
          expect(Array.from(out.output__0.data as Float32Array)).toEqual([8, 16, 24]);
        });

        it('a batch size read as a Python int: caught by the gate at batch 1 and max_batch_size, or exported dynamic', async () => {
          ws = new Workspace(python());
          ws.project(
            'baked',
            `platform: onnxruntime_onnx
max_batch_size: 8
export:
  torch:
    model: net:baked
    input_shapes: { x: [null, 16] }
    output_names: [y]
${torch2 ? `    exporter: ${exporter}\n` : ''}`,
            { 'net.py': NET_PY },
          );
          if (exporter === 'torchscript') {
            const lines = (await failure(ws.export('baked'))).split('\n');
            expect(lines[0]).toBe(
              'models/baked/triton.yaml:3:1: verify: the exported ONNX does not match the torch module (onnxruntime 1.32.0; seeded inputs, seed 1; an element fails when it exceeds both atol and rtol x |torch|):',
            );
            expect(lines[1]).toMatch(/^ {2}output +input shapes +max abs err +max rel err +failing +atol +rtol$/);
            expect(lines[2]).toMatch(/^ {2}\* +x\[1, 16\] +onnxruntime 1\.32\.0 failed: .*Reshape/);
            expect(lines[3]).toMatch(/^ {2}\* +x\[8, 16\] +onnxruntime 1\.32\.0 failed: .*Reshape/);
            expect(lines[4]).toBe('(a size baked into the graph fails at one input shape only; a model exported in reduced precision may need verify.atol / verify.rtol for its precision)');
            expect(existsSync(join(ws.root, 'dist', 'models', 'baked', 'export'))).toBe(false);
          } else {
            const { out } = await runOnnx(await ws.export('baked'), { x: new ort.Tensor('float32', new Float32Array(8 * 16), [8, 16]) });
            expect(out.y.dims).toEqual([8, 2]);
          }
        });

        it('data-dependent control flow: a traced graph that differs fails the gate with the table; torch.export refuses it', async () => {
          ws = new Workspace(python());
          ws.project(
            'branchy',
            `platform: onnxruntime_onnx
max_batch_size: 8
export:
  torch:
    model: net:branchy
    input_shapes: { x: [null, 16] }
    output_names: [y]
    exporter: ${exporter}
verify: { batch_sizes: [1, 3, 8] }
`,
            { 'net.py': NET_PY },
          );
          const lines = (await failure(ws.export('branchy'))).split('\n');
          if (exporter === 'dynamo') {
            expect(lines).toHaveLength(1);
            // What it is, where (the user's line), and that TorchScript tracing would freeze one branch: no advice to switch to it.
            expect(lines[0]).toMatch(
              /^models\/branchy\/triton\.yaml:8:5: export\.torch\.exporter: export\.torch\.model "net:branchy": the model's control flow depends on a tensor's values at net\.py:\d+ \(a branch, loop or size taken from a tensor\), which torch\.export cannot capture; rewrite it with torch\.where or torch\.cond\. The TorchScript-based exporter would record only the branch the example inputs take \(GuardOnDataDependentSymNode: .*\)$/,
            );
          } else {
            expect(lines[0]).toBe(
              'models/branchy/triton.yaml:9:1: verify: the exported ONNX does not match the torch module (onnxruntime 1.32.0; seeded inputs, seed 1; an element fails when it exceeds both atol and rtol x |torch|):',
            );
            // One row per output and input shape; the traced branch is wrong where the sum's sign flips.
            const rows = lines.slice(2, 5).map((l) => l.trim().split(/ {2,}/));
            expect(rows.map((r) => r.slice(0, 2))).toEqual([
              ['y', 'x[1, 16]'],
              ['y', 'x[3, 16]'],
              ['y', 'x[8, 16]'],
            ]);
            expect(rows.some((r) => Number(r[2]) > 1 && r[4] !== '0/' + r[4].split('/')[1])).toBe(true);
            for (const r of rows) expect(r.slice(5)).toEqual(['0.0001', '0.001']);
          }
        });
      });
    }

    it('binds TorchScript inputs by name: the saved forward() takes the config names in the listed order', async () => {
      ws = new Workspace(python());
      const dir = ws.project('text_pt', TYPED_INPUTS + textYaml('pytorch_libtorch', undefined), { 'net.py': NET_PY });
      const model = await ws.export('text_pt');
      const script = [
        'import json, sys, torch',
        'm = torch.jit.load(sys.argv[1])',
        'ids = torch.tensor(json.loads(sys.argv[2])).reshape(2, 16)',
        'mask = torch.tensor(json.loads(sys.argv[3])).reshape(2, 16)',
        'print(json.dumps({"args": [a.name for a in m.forward.schema.arguments][1:], "out": m(input_ids=ids, attention_mask=mask).flatten().tolist()}))',
      ].join('\n');
      const run = JSON.parse(execFileSync(python(), ['-c', script, model, JSON.stringify(IDS), JSON.stringify(MASK)], { encoding: 'utf8' }));
      expect(run.args).toEqual(['attention_mask', 'input_ids']);
      expectClose(run.out, torchTextScores(python(), dir));
      expect(JSON.parse(readFileSync(join(model, '..', 'verify.json'), 'utf8')).exporter).toBe('trace');
    });

    it('runs the gate on a traced TorchScript module too: torch.jit.load against the module', async () => {
      ws = new Workspace(python());
      ws.project(
        'branchy_pt',
        `platform: pytorch_libtorch
max_batch_size: 8
export:
  torch:
    model: net:branchy
    input_shapes: { x: [null, 16] }
    output_names: [OUTPUT__0]
`,
        { 'net.py': NET_PY },
      );
      const lines = (await failure(ws.export('branchy_pt'))).split('\n');
      expect(lines[0]).toMatch(
        /^models\/branchy_pt\/triton\.yaml:3:1: verify: the exported TorchScript module does not match the torch module \(torch\.jit\.load \(torch [^)]+\); seeded inputs, seed 1; /,
      );
      expect(lines.slice(2, 4).map((l) => l.trim().split(/ {2,}/).slice(0, 2))).toEqual([
        ['OUTPUT__0', 'x[1, 16]'],
        ['OUTPUT__0', 'x[8, 16]'],
      ]);
    });

    it('says which example values and sizes a failing model got, and how to change them', async () => {
      ws = new Workspace(python());
      ws.project('zeros', TYPED_INPUTS + textYaml('onnxruntime_onnx', undefined).replace('{ input_ids: { randint: [0, 50] } }', '{ attention_mask: zeros }'), { 'net.py': NET_PY });
      expect(await failure(ws.export('zeros'))).toBe(
        'models/zeros/triton.yaml:11:5: export.torch.example_inputs: export.torch.model "net:text" gives NaN or Inf in output "score" on the example inputs ' +
          'attention_mask[2, 16] int64 zeros, input_ids[2, 16] int64 ones (null dims were given the sizes attention_mask dim 0 = 2, input_ids dim 0 = 2); ' +
          'change the values with export.torch.example_inputs',
      );
    });

    it('takes example values from a .npy in the project, and passes a forward(*args) its inputs by position', async () => {
      ws = new Workspace(python());
      const dir = ws.project(
        'diff',
        `platform: onnxruntime_onnx
max_batch_size: 0
export:
  torch:
    model: net:varargs
    input_shapes: { b: [3], a: [3] }
    example_inputs: { b: data/b.npy, a: ones }
`,
        { 'net.py': NET_PY },
      );
      execFileSync(python(), ['-c', 'import os, sys, numpy; os.makedirs("data"); numpy.save("data/b.npy", numpy.array([5, 6, 7], dtype=numpy.float32))'], { cwd: dir });
      const { inputNames, out } = await runOnnx(await ws.export('diff'), {
        b: new ort.Tensor('float32', Float32Array.from([5, 6, 7]), [3]),
        a: new ort.Tensor('float32', Float32Array.from([1, 1, 1]), [3]),
      });
      expect(inputNames).toEqual(['b', 'a']);
      // forward(*tensors) returns tensors[0] - tensors[1]: b first, as listed
      expect(Array.from(out.output__0.data as Float32Array)).toEqual([4, 5, 6]);
    });

    it('runs the gate on verify.samples (an .npz, one array per input), and names what the file lacks', async () => {
      ws = new Workspace(python());
      const yaml = `platform: onnxruntime_onnx
max_batch_size: 4
export:
  torch:
    model: net:pair
    input_shapes: { b: [null, 3], a: [null, 3] }
verify:
  samples: data/real.npz
`;
      const dir = ws.project('pair', yaml, { 'net.py': NET_PY });
      const save = (arrays: string) =>
        execFileSync(python(), ['-c', `import os, numpy; os.makedirs("data", exist_ok=True); numpy.savez("data/real.npz", ${arrays})`], { cwd: dir });
      save('a=numpy.arange(9, dtype=numpy.float32).reshape(3, 3), b=numpy.ones((3, 3), dtype=numpy.float32)');
      const model = await ws.export('pair');
      const record = JSON.parse(readFileSync(join(model, '..', 'verify.json'), 'utf8'));
      // the samples' own batch of 3 first, then the gate's other batch size (rows repeated)
      expect(record.cases.map((c: { inputs: unknown }) => c.inputs)).toEqual([
        { b: [3, 3], a: [3, 3] },
        { b: [4, 3], a: [4, 3] },
      ]);
      save('a=numpy.ones((3, 3), dtype=numpy.float32)');
      expect(await failure(ws.export('pair'))).toBe('models/pair/triton.yaml:8:3: verify.samples: data/real.npz must hold one array per input [b, a]; missing: b');
    });

    it('names the signature when an input_shapes key is not a parameter of forward()', async () => {
      ws = new Workspace(python());
      ws.project('typo', textYaml('onnxruntime_onnx', undefined).replace('attention_mask: [null, 16]', 'attn_mask: [null, 16]').replace('{ input_ids: { randint', '{ input_ids: { randint'), { 'net.py': NET_PY });
      expect(await failure(ws.export('typo'))).toBe(
        'models/typo/triton.yaml:7:21: export.torch.input_shapes.attn_mask: "attn_mask" is not a parameter of forward(self, input_ids, attention_mask) (net.py:14); input names are forward\'s parameter names (or set export.torch.input_names)',
      );
    });

    it('refuses an input_shapes key that input: does not declare (no silent fp32)', async () => {
      ws = new Workspace(python());
      const yaml = TYPED_INPUTS.replace('name: attention_mask', 'name: mask') + textYaml('onnxruntime_onnx', undefined);
      ws.project('undeclared', yaml, { 'net.py': NET_PY });
      expect(await failure(ws.export('undeclared'))).toBe(
        'models/undeclared/triton.yaml:10:21: export.torch.input_shapes.attention_mask: "attention_mask" is not an input: of this model (input: names [mask, input_ids])',
      );
    });

    it('names the missing module or callable at export.torch.model, and a wrong output_names count', async () => {
      ws = new Workspace(python());
      ws.project('nomod', textYaml('onnxruntime_onnx', undefined).replace('net:text', 'nett:text'), { 'net.py': NET_PY });
      expect(await failure(ws.export('nomod'))).toBe(
        `models/nomod/triton.yaml:5:5: export.torch.model: no module "nett": neither nett.py nor nett/ is in the project directory, and ${python()} has no such module installed`,
      );
      ws.project('nofn', textYaml('onnxruntime_onnx', undefined).replace('net:text', 'net:txet'), { 'net.py': NET_PY });
      expect(await failure(ws.export('nofn'))).toBe('models/nofn/triton.yaml:5:5: export.torch.model: "net" has no "txet" (net.py)');
      ws.project('outs', TYPED_INPUTS + textYaml('onnxruntime_onnx', undefined).replace('[score]', '[score, extra]'), { 'net.py': NET_PY });
      expect(await failure(ws.export('outs'))).toBe('models/outs/triton.yaml:12:5: export.torch.output_names: 2 name(s) given but the model returns 1 output tensor(s) (output__0)');
    });

    it('honours opset, and verify: false writes no verify.json', async () => {
      ws = new Workspace(python());
      const opset = torch2 ? 18 : 13;
      ws.project('op', TYPED_INPUTS + textYaml('onnxruntime_onnx', undefined, `    opset: ${opset}\nverify: false\n`), { 'net.py': NET_PY });
      const model = await ws.export('op');
      const dir = join(model, '..');
      expect((await readOnnxSignature(model)).opsets.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version).toBe(opset);
      expect(readdirSync(dir)).not.toContain('verify.json');
    });

    if (torch2) {
      it('dynamo by default; its external-data sidecar lands in the repository in the model.onnx/ directory form', async () => {
        ws = new Workspace(python());
        ws.project('text', TYPED_INPUTS + textYaml('onnxruntime_onnx', undefined), { 'net.py': NET_PY });
        const built = await ws.exportAndBuild('text');
        expect(readdirSync(join(ws.root, 'dist', 'models', 'text', 'export')).sort()).toEqual(['model.onnx', 'model.onnx.data', 'verify.json']);
        expect(built.files).toEqual(['config.pbtxt', '1/model.onnx/']);
        expect(readdirSync(join(built.entryDir, '1', 'model.onnx')).sort()).toEqual(['model.onnx', 'model.onnx.data']);
        const exportDir = join(ws.root, 'dist', 'models', 'text', 'export');
        expect(JSON.parse(readFileSync(join(exportDir, 'verify.json'), 'utf8')).exporter).toBe('dynamo');
        // byte-stable: the same inputs give the same graph, sidecar and record
        const bytes = () => ['model.onnx', 'model.onnx.data', 'verify.json'].map((f) => readFileSync(join(exportDir, f)).toString('base64'));
        const first = bytes();
        await ws.export('text');
        expect(bytes()).toEqual(first);
      });
    } else {
      it('the TorchScript-based exporter by default; exporter: dynamo is refused with the torch version', async () => {
        ws = new Workspace(python());
        ws.project('text', textYaml('onnxruntime_onnx', 'dynamo'), { 'net.py': NET_PY });
        expect(await failure(ws.export('text'))).toMatch(
          /^models\/text\/triton\.yaml:10:5: export\.torch\.exporter: torch 1\.13\.\S+ has no dynamo exporter \(torch\.onnx\.export\(dynamo=True\) came with torch 2\.5\); use exporter: torchscript or a newer torch$/,
        );
      });
    }
  });
}

describe('the fidelity gate without onnxruntime', () => {
  it('says in one line how to install it or turn the gate off', async () => {
    ws = new Workspace(DEBIAN_PYTHON);
    ws.project('text', textYaml('onnxruntime_onnx', undefined), { 'net.py': NET_PY });
    expect(await failure(ws.export('text'))).toBe(
      `models/text/triton.yaml:3:1: verify: onnxruntime is not installed for ${DEBIAN_PYTHON}; the fidelity gate needs it to run the exported ONNX: pip install "onnxruntime>=1.16" (or pip install -r node_modules/nx-triton/python/requirements.txt), or set verify: false`,
    );
  });
});
