// 6. The fidelity gate's cost: `export.torch` of torchvision's resnet18 (random weights, .venv's torch 2.x,
//    the dynamo exporter) with `verify` on (the default) vs `verify: false`, the same export in the same run.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDir, log, median, repoRoot, requireDist, runs, workDir } from './lib/util.mjs';

const RATIO_GOAL = 1.5;
const PYTHON = join(repoRoot, '.venv', 'bin', 'python');

function project(root, name, verify) {
  const dir = join(root, 'models', name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'triton.yaml'),
    [
      'platform: onnxruntime_onnx',
      'max_batch_size: 8',
      'export:',
      '  torch:',
      '    model: torchvision.models:resnet18',
      '    input_shapes: { x: [null, 3, 224, 224] }',
      '    output_names: [logits]',
      ...(verify ? [] : ['verify: false']),
      '',
    ].join('\n'),
  );
  return join(dir, 'triton.yaml');
}

export async function bench() {
  const { runExport } = requireDist('./lib/targets/export.js');
  const { loadSpec } = requireDist('./lib/model-spec/index.js');
  const root = ensureDir(join(workDir, 'b6'));
  const specs = { on: loadSpec(project(root, 'gated', true)), off: loadSpec(project(root, 'ungated', false)) };
  const time = async (spec) => {
    const t = performance.now();
    await runExport({ spec, workspaceRoot: root, python: PYTHON });
    return performance.now() - t;
  };
  const on = [];
  const off = [];
  for (let i = 0; i < runs(3); i++) {
    log(`6: resnet18 export ${i + 1}/${runs(3)}, without and with the gate`);
    off.push(await time(specs.off));
    on.push(await time(specs.on));
  }
  const ratio = median(on) / median(off);
  return [
    {
      id: '6',
      name: 'export.torch of resnet18 (dynamo, torch 2.x): with verify (batch 1 and 8, onnxruntime vs torch) vs verify: false',
      ours: median(on),
      baseline: median(off),
      ratio,
      goal: `<= ${RATIO_GOAL}x`,
      met: ratio <= RATIO_GOAL,
    },
  ];
}
