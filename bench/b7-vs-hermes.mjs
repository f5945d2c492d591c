// 7. Side by side with hermes.quiver (ml4gw-hermes, the Python library nx-triton descends from): the
//    same two torch models (an MLP and torchvision's resnet18, bench/b7/nets.py) exported to ONNX into a
//    Triton repository, with the same torch (bench/requirements.txt), the same exporter (torch's default
//    since 2.9, dynamo) and opset 18. Theirs: one script (bench/b7/hermes_export.py), re-run on every change. Ours: a workspace
//    with two triton.yaml projects and `nx run-many -t build`. Measured in one run:
//      7a  time to a first repository (cold: no Nx cache), with our fidelity gate off, as theirs has none
//      7b  a second, unchanged run: theirs re-exports both models, ours is Nx cache hits (7b2: with the
//          Nx daemon on, as nx runs outside CI; 7b3: Nx's own floor, the same cached tasks as
//          nx:run-commands with a do-nothing plugin)
//      7c  a one-key config edit (the MLP's instance count): theirs re-runs the script, ours rebuilds the MLP
//      7d  (info) 7a with the fidelity gate on, as a triton.yaml has it by default
//    Both repositories are then served by the real tritonserver (nvidia-pytriton's, from .venv): every
//    model passes Triton's config rules and fails to load only because the bundle has no onnxruntime
//    backend.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createWorkspace, EMPTY_PLUGIN, runCommandsProject } from './lib/workspace.mjs';
import { benchDir, ensureDir, log, median, remove, repoRoot, requireDist, run, runs, SYSTEM_PYTHON, timed, workDir } from './lib/util.mjs';

const GOAL_FIRST = 1.2;
const GOAL_RERUN = 0.05;
const NETS = readFileSync(join(benchDir, 'b7', 'nets.py'), 'utf8');
const MODELS = ['mlp', 'resnet18'];
/** Where the floor workspace keeps the exported files its export targets copy (gitignored). */
const FLOOR_SOURCE = 'dist/floor-source';

/** bench/.work/venv, made from /usr/bin/python3 with bench/requirements.txt (once; kept between runs). BENCH_VENV: use another. */
export function benchPython() {
  if (process.env.BENCH_VENV) return join(process.env.BENCH_VENV, 'bin', 'python');
  const venv = join(workDir, 'venv');
  const python = join(venv, 'bin', 'python');
  const stamp = join(venv, '.requirements.txt');
  const wanted = readFileSync(join(benchDir, 'requirements.txt'), 'utf8');
  if (existsSync(python) && existsSync(stamp) && readFileSync(stamp, 'utf8') === wanted) return python;
  log(`7: making ${venv} from ${SYSTEM_PYTHON} with bench/requirements.txt (once)`);
  remove(venv);
  ensureDir(workDir);
  run([SYSTEM_PYTHON, '-m', 'venv', venv]);
  run([python, '-m', 'pip', 'install', '-q', '-r', join(benchDir, 'requirements.txt')], { timeoutMs: 1_800_000 });
  writeFileSync(stamp, wanted);
  return python;
}

/** Whether this build of nx-triton has the fidelity gate (`verify:`); without it 7d is left out. */
function hasFidelityGate() {
  return requireDist('./lib/model-spec/plugin-keys.js').PLUGIN_KEYS.has('verify');
}

/** `verify`: true = the gate's default, false = `verify: false`, undefined = no such key in this build. */
function spec(model, count, verify) {
  const shapes = model === 'mlp' ? '{ x: [null, 256] }' : '{ x: [null, 3, 224, 224] }';
  return [
    'platform: onnxruntime_onnx',
    `max_batch_size: ${model === 'mlp' ? 64 : 8}`,
    `instance_group: [{ kind: cpu, count: ${count} }]`,
    'export:',
    '  torch:',
    `    model: nets:${model}`,
    `    input_shapes: ${shapes}`,
    `    output_names: [${model === 'mlp' ? 'y' : 'logits'}]`,
    '    opset: 18',
    ...(verify === false ? ['verify: false'] : []),
    '',
  ].join('\n');
}

function ourWorkspace(name, python, verify) {
  const files = {};
  for (const model of MODELS) {
    files[`models/${model}/triton.yaml`] = spec(model, 1, verify);
    files[`models/${model}/nets.py`] = NETS;
  }
  const ws = createWorkspace(name, { plugins: [{ plugin: 'nx-triton', options: { python } }], files });
  return {
    ...ws,
    build: () => ws.nx(['run-many', '-t', 'build']),
    /** Forgets every cached result and output: the next build is a first one. */
    forget: () => {
      remove(join(ws.root, '.nx'));
      remove(join(ws.root, 'dist'));
    },
    setCount: (count) => writeFileSync(join(ws.root, 'models/mlp/triton.yaml'), spec('mlp', count, verify)),
    repository: join(ws.root, 'dist', 'model-repository'),
  };
}

/**
 * Nx's own floor for 7b: the same four tasks (export -> build for both models, the same output
 * files, copied from our build) as cached `nx:run-commands` targets, with a plugin that does nothing
 * registered (any plugin costs Nx a worker process), as benchmarks 1b and 2b do. The files it copies
 * lie under the gitignored dist/ so that Nx does not hash 46 MB of weights as project files on every
 * run (ours has only triton.yaml and nets.py in its projects).
 */
function floorWorkspace(oursRoot) {
  const files = {};
  for (const model of MODELS) {
    const project = runCommandsProject(model, {
      exportCommand: (exported) => `mkdir -p ${exported} && cp ${FLOOR_SOURCE}/${model}/* ${exported}/`,
      buildCommand: (exported, entry) => `mkdir -p ${entry}/1 && cp -r ${exported} ${entry}/1/model.onnx && cp models/${model}/config.pbtxt ${entry}/`,
    });
    files[`models/${model}/project.json`] = `${JSON.stringify(project, null, 2)}\n`;
    files[`models/${model}/config.pbtxt`] = readFileSync(join(oursRoot, 'dist', 'model-repository', model, 'config.pbtxt'));
  }
  const ws = createWorkspace('b7-floor', { plugins: [EMPTY_PLUGIN], files });
  for (const model of MODELS) cpSync(join(oursRoot, 'dist', 'models', model, 'export'), join(ws.root, FLOOR_SOURCE, model), { recursive: true });
  return ws;
}

/** `nx run-many` output: how many tasks ran and how many came from the cache. */
function cacheLine(stdout) {
  return stdout.match(/Nx read the output from the cache[^\n]*/)?.[0]?.trim() ?? 'no task from the cache';
}

/** Loads every model of `repository` in the real tritonserver; each must fail only for the missing onnxruntime backend. */
async function checkServed(repository, label) {
  const { startTritonServer } = requireDist('./lib/triton/server.js');
  const { TritonClient } = requireDist('./lib/triton/client.js');
  const server = await startTritonServer({ repository, python: join(repoRoot, '.venv', 'bin', 'python'), models: [], disableAutoCompleteConfig: true });
  try {
    const client = new TritonClient(server.url, server.log);
    const outcomes = [];
    for (const model of MODELS) {
      const r = await client.load(model);
      if (r.ok || !/unable to find backend library for backend 'onnxruntime'/.test(r.error ?? '')) {
        throw new Error(`${label}: Triton's answer for ${model} is not "only the backend is missing": ${r.ok ? 'it loaded' : r.error}`);
      }
      outcomes.push(model);
    }
    return `${label}: ${outcomes.join(', ')} pass Triton's config rules (load stops only at the missing onnxruntime backend)`;
  } finally {
    await server.stop();
  }
}

export async function bench() {
  const python = benchPython();
  const theirRoot = join(workDir, 'b7-hermes');
  const theirRepo = join(theirRoot, 'model-repository');
  ensureDir(theirRoot);
  const theirs = (count) => timed([python, join(benchDir, 'b7', 'hermes_export.py'), theirRepo, String(count)], { cwd: join(benchDir, 'b7'), timeoutMs: 900_000 }).ms;
  const gate = hasFidelityGate();
  const ours = ourWorkspace('b7-ours', python, gate ? false : undefined);
  const gated = gate ? ourWorkspace('b7-ours-verify', python, true) : undefined;
  log('7: warming up (one hermes export, one nx build: page cache, .pyc files)');
  theirs(1);
  ours.build();

  const n = runs(3);
  const first = { ours: [], theirs: [], gated: [] };
  for (let i = 0; i < n; i++) {
    log(`7a/7d: first repository, run ${i + 1}/${n}`);
    ours.forget();
    remove(theirRepo);
    spawnSync('sync');
    first.ours.push(ours.build().ms);
    first.theirs.push(theirs(1));
    if (gated) {
      gated.forget();
      spawnSync('sync');
      first.gated.push(gated.build().ms);
    }
  }

  const rerun = { ours: [], theirs: [] };
  let rerunLine = '';
  for (let i = 0; i < n; i++) {
    log(`7b: unchanged rerun ${i + 1}/${n}`);
    const r = ours.build();
    rerun.ours.push(r.ms);
    rerunLine = cacheLine(r.stdout);
    rerun.theirs.push(theirs(1));
  }

  log('7b3: Nx\'s floor (the same cached tasks as nx:run-commands, a do-nothing plugin)');
  const floorWs = floorWorkspace(ours.root);
  floorWs.nx(['run-many', '-t', 'build']);
  const floor = [];
  for (let i = 0; i < n; i++) {
    const r = floorWs.nx(['run-many', '-t', 'build']);
    if (!/for 4 out of 4 tasks/.test(cacheLine(r.stdout))) throw new Error(`7b3: the floor workspace's rerun was not all cache hits: ${cacheLine(r.stdout)}`);
    floor.push(r.ms);
  }
  floorWs.remove();

  // The same with the Nx daemon on (nx's default outside CI): the project graph is kept between runs.
  const daemon = { ours: [] };
  ours.nx(['run-many', '-t', 'build'], { NX_DAEMON: 'true' });
  for (let i = 0; i < n; i++) {
    log(`7b2: unchanged rerun with the daemon ${i + 1}/${n}`);
    daemon.ours.push(ours.nx(['run-many', '-t', 'build'], { NX_DAEMON: 'true' }).ms);
  }
  ours.nx(['daemon', '--stop'], { NX_DAEMON: 'true' });

  const edit = { ours: [], theirs: [] };
  let editLine = '';
  for (let i = 0; i < n; i++) {
    // A count never built before: a value seen earlier would be a cache hit, not an edit.
    const count = i + 2;
    log(`7c: one-key edit ${i + 1}/${n} (mlp instance count -> ${count})`);
    ours.setCount(count);
    const r = ours.build();
    edit.ours.push(r.ms);
    editLine = cacheLine(r.stdout);
    // Only the MLP's build may run: its export reads no config-only key, so it is a cache hit.
    if (!/for 3 out of 4 tasks/.test(editLine)) throw new Error(`7c: expected 3 of 4 tasks from the cache (only mlp:build re-run), got: ${editLine}`);
    if (!readFileSync(join(ours.repository, 'mlp', 'config.pbtxt'), 'utf8').includes(`count: ${count}`)) throw new Error('7c: the edit did not reach config.pbtxt');
    edit.theirs.push(theirs(count));
  }

  log('7: serving both repositories with the real tritonserver');
  const served = [await checkServed(ours.repository, 'nx-triton'), await checkServed(theirRepo, 'hermes.quiver')];
  ours.remove();
  gated?.remove();
  if (process.env.BENCH_KEEP !== '1') remove(theirRoot);

  const row = (id, name, o, t, goal) => {
    const ratio = median(o) / median(t);
    return { id, name, ours: median(o), baseline: median(t), ratio, goal: goal ? `<= ${goal}x` : '-', met: goal ? ratio <= goal : null, samples: { ours: o, baseline: t } };
  };
  return [
    { ...row('7a', 'first repository, MLP + resnet18: `nx run-many -t build` (no cache, no fidelity gate) vs hermes.quiver export_version', first.ours, first.theirs, GOAL_FIRST), extra: served.join('; ') },
    { ...row('7b', 'second, unchanged run: nx cache hits vs hermes.quiver re-exporting', rerun.ours, rerun.theirs, GOAL_RERUN), extra: `ours: ${rerunLine}` },
    row('7b2', 'info: 7b with the Nx daemon on (nx\'s default outside CI)', daemon.ours, rerun.theirs),
    { ...row('7b3', 'info: Nx\'s floor for 7b: the same 4 cached tasks as nx:run-commands with a do-nothing plugin, vs hermes.quiver re-exporting', floor, rerun.theirs), extra: `7b is ${(median(rerun.ours) / median(floor)).toFixed(2)}x this floor` },
    { ...row('7c', 'one-key edit (the MLP\'s instance_group count): nx rebuilds the MLP vs hermes.quiver re-running its script', edit.ours, edit.theirs), extra: `ours: ${editLine}` },
    ...(gated ? [row('7d', 'info: 7a with the fidelity gate on (the default: torch vs onnxruntime at batch 1 and max_batch_size)', first.gated, first.theirs)] : []),
  ];
}
