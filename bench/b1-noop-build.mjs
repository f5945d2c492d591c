// 1. No-op build: `nx run-many -t build` of 100 cached models vs 100 cached plain command targets.
//    Both workspaces hold the same files (triton.yaml + a small real model.onnx per project) and the
//    same task graph (export -> build, cached, the same output paths); only the baseline's targets
//    are `nx:run-commands` from project.json and nx-triton is not registered there.
// 1c. The same for 20 cached torch models (`export: { torch }`, Debian's torch 1.13): their export
//    tasks carry the toolchain in the cache key (a `runtime` input: one Python run that prints the
//    interpreter's and the exporter's package versions, and those of what net.py imports).
import { readFileSync } from 'node:fs';
import { SMALL_ONNX } from './lib/fixtures.mjs';
import { createWorkspace, EMPTY_PLUGIN, runCommandsProject } from './lib/workspace.mjs';
import { log, median, runs, SYSTEM_PYTHON } from './lib/util.mjs';

const GOAL = 1.3;
const COUNT = 100;
const SPEC = 'platform: onnxruntime_onnx\nexport: { file: model.onnx }\n';

const names = Array.from({ length: COUNT }, (_, i) => `m${String(i).padStart(3, '0')}`);
const TORCH_COUNT = 20;
const torchNames = names.slice(0, TORCH_COUNT);
const TORCH_SPEC =
  'platform: onnxruntime_onnx\nmax_batch_size: 8\nverify: false\nexport:\n  torch:\n    model: net:build\n    input_shapes: { input: [null, 16] }\n    exporter: torchscript\n';
const TORCH_NET = 'import numpy\nimport torch\n\n\ndef build():\n    return torch.nn.Sequential(torch.nn.Linear(16, 4), torch.nn.ReLU())\n';

function commandProject(name) {
  return runCommandsProject(name, {
    exportCommand: (exported) => `mkdir -p ${exported} && cp models/${name}/model.onnx ${exported}/model.onnx`,
    buildCommand: (exported, entry) => `mkdir -p ${entry}/1 && cp ${exported}/model.onnx ${entry}/1/model.onnx && echo 'name: "${name}"' > ${entry}/config.pbtxt`,
  });
}

export async function bench() {
  const onnx = readFileSync(SMALL_ONNX);
  const modelFiles = {};
  const commandFiles = {};
  for (const name of names) {
    modelFiles[`models/${name}/triton.yaml`] = SPEC;
    modelFiles[`models/${name}/model.onnx`] = onnx;
    commandFiles[`models/${name}/triton.yaml`] = SPEC;
    commandFiles[`models/${name}/model.onnx`] = onnx;
    commandFiles[`models/${name}/project.json`] = `${JSON.stringify(commandProject(name), null, 2)}\n`;
  }
  const models = createWorkspace('b1-models', { plugins: [{ plugin: 'nx-triton', options: {} }], files: modelFiles });
  const commands = createWorkspace('b1-commands', { plugins: [], files: commandFiles });

  const args = ['run-many', '-t', 'build'];
  log('1: warming both caches (one real build each)');
  for (const ws of [models, commands]) {
    const r = ws.nx(args);
    if (!/Successfully ran target build for 100 projects/.test(r.stdout)) throw new Error(`warm-up build in ${ws.root} did not build 100 projects:\n${r.stdout.slice(-2000)}`);
  }
  const ours = [];
  const base = [];
  let cachedLine = '';
  for (let i = 0; i < runs(); i++) {
    log(`1: run ${i + 1}/${runs()}`);
    const r = models.nx(args);
    ours.push(r.ms);
    cachedLine = r.stdout.match(/Nx read the output from the cache[^\n]*/)?.[0] ?? '';
    base.push(commands.nx(args).ms);
  }

  // Diagnostic: the baseline again, with a plugin registered that adds nothing (Nx's cost of any plugin).
  commands.setPlugins([EMPTY_PLUGIN]);
  commands.nx(args); // nx.json changed: re-warm
  const ours2 = [];
  const floor = [];
  for (let i = 0; i < runs(); i++) {
    log(`1b: run ${i + 1}/${runs()}`);
    ours2.push(models.nx(args).ms);
    floor.push(commands.nx(args).ms);
  }
  models.remove();
  commands.remove();

  // 1c: torch models, whose export's cache key runs the Python fingerprint.
  const torchFiles = {};
  const torchCommandFiles = {};
  for (const name of torchNames) {
    torchFiles[`models/${name}/triton.yaml`] = TORCH_SPEC;
    torchFiles[`models/${name}/net.py`] = TORCH_NET;
    torchCommandFiles[`models/${name}/triton.yaml`] = TORCH_SPEC;
    torchCommandFiles[`models/${name}/net.py`] = TORCH_NET;
    torchCommandFiles[`models/${name}/model.onnx`] = onnx;
    torchCommandFiles[`models/${name}/project.json`] = `${JSON.stringify(commandProject(name), null, 2)}\n`;
  }
  const torchModels = createWorkspace('b1-torch', { plugins: [{ plugin: 'nx-triton', options: { python: SYSTEM_PYTHON } }], files: torchFiles });
  const torchCommands = createWorkspace('b1-torch-commands', { plugins: [], files: torchCommandFiles });
  log(`1c: warming both caches (${TORCH_COUNT} torch exports)`);
  for (const ws of [torchModels, torchCommands]) {
    const r = ws.nx(args);
    if (!new RegExp(`Successfully ran target build for ${TORCH_COUNT} projects`).test(r.stdout)) {
      throw new Error(`warm-up build in ${ws.root} did not build ${TORCH_COUNT} projects:\n${r.stdout.slice(-2000)}`);
    }
  }
  const oursTorch = [];
  const baseTorch = [];
  let torchCachedLine = '';
  for (let i = 0; i < runs(); i++) {
    log(`1c: run ${i + 1}/${runs()}`);
    const r = torchModels.nx(args);
    oursTorch.push(r.ms);
    torchCachedLine = r.stdout.match(/Nx read the output from the cache[^\n]*/)?.[0] ?? '';
    baseTorch.push(torchCommands.nx(args).ms);
  }
  // 1d: the torch baseline with a do-nothing plugin registered: what is left of 1c is the toolchain key.
  torchCommands.setPlugins([EMPTY_PLUGIN]);
  torchCommands.nx(args); // nx.json changed: re-warm
  const oursTorch2 = [];
  const floorTorch = [];
  for (let i = 0; i < runs(); i++) {
    log(`1d: run ${i + 1}/${runs()}`);
    oursTorch2.push(torchModels.nx(args).ms);
    floorTorch.push(torchCommands.nx(args).ms);
  }
  torchModels.remove();
  torchCommands.remove();
  const ratioTorch = median(oursTorch) / median(baseTorch);

  const ratio = median(ours) / median(base);
  const ratio2 = median(ours2) / median(floor);
  return [
    {
      id: '1',
      name: 'no-op `nx run-many -t build`, 100 cached models (200 tasks: export + build) vs 100 cached nx:run-commands projects (same task graph)',
      ours: median(ours),
      baseline: median(base),
      ratio,
      goal: `<= ${GOAL}x`,
      met: ratio <= GOAL,
      extra: `ours: ${cachedLine.trim() || 'no cache line found'}`,
      samples: { ours, baseline: base },
    },
    {
      id: '1b',
      name: 'diagnostic: the same, baseline with an empty createNodes plugin registered (Nx\'s floor for any plugin)',
      ours: median(ours2),
      baseline: median(floor),
      ratio: ratio2,
      goal: '-',
      met: null,
      samples: { ours: ours2, baseline: floor },
    },
    {
      id: '1c',
      name: `no-op \`nx run-many -t build\`, ${TORCH_COUNT} cached torch models (the toolchain in the export's key) vs ${TORCH_COUNT} cached nx:run-commands projects`,
      ours: median(oursTorch),
      baseline: median(baseTorch),
      ratio: ratioTorch,
      // Information: at 20 models Nx's fixed cost of any plugin (1b) is not spread as at 100; 1d
      // takes it out.
      goal: '-',
      met: null,
      extra: `ours: ${torchCachedLine.trim() || 'no cache line found'}`,
      samples: { ours: oursTorch, baseline: baseTorch },
    },
    {
      id: '1d',
      name: "diagnostic: 1c, baseline with an empty createNodes plugin registered (what is left is the toolchain key's cost)",
      ours: median(oursTorch2),
      baseline: median(floorTorch),
      ratio: median(oursTorch2) / median(floorTorch),
      goal: '-',
      met: null,
      samples: { ours: oursTorch2, baseline: floorTorch },
    },
  ];
}
