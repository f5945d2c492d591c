// 2. Project graph: `nx show projects` of 1,000 triton.yaml models vs 1,000 project.json projects
//    with similar targets (export + build). `.nx/workspace-data` is deleted before every run, in
//    both workspaces, so the project graph (createNodes, or reading project.json) is computed anew.
import { join } from 'node:path';
import { createWorkspace, EMPTY_PLUGIN } from './lib/workspace.mjs';
import { log, median, remove, runs } from './lib/util.mjs';

const GOAL = 1.5;
const COUNT = 1000;
const SPEC = 'platform: onnxruntime_onnx\nmax_batch_size: 8\ninstance_group: [{ kind: gpu, count: 1 }]\nexport: { file: model.onnx }\n';

const names = Array.from({ length: COUNT }, (_, i) => `m${String(i).padStart(4, '0')}`);

function project(name) {
  return {
    name,
    targets: {
      export: {
        executor: 'nx:run-commands',
        cache: true,
        inputs: ['{projectRoot}/**/*'],
        outputs: [`{workspaceRoot}/dist/models/${name}/export`],
        options: { command: `node export.js ${name}` },
      },
      build: {
        executor: 'nx:run-commands',
        cache: true,
        dependsOn: ['export'],
        inputs: ['{projectRoot}/**/*', { dependentTasksOutputFiles: '**/*', transitive: true }],
        outputs: [`{workspaceRoot}/dist/model-repository/${name}`],
        options: { command: `node build.js ${name}` },
      },
    },
  };
}

export async function bench() {
  const yamlFiles = {};
  const jsonFiles = {};
  for (const name of names) {
    yamlFiles[`models/${name}/triton.yaml`] = SPEC;
    jsonFiles[`models/${name}/project.json`] = `${JSON.stringify(project(name), null, 2)}\n`;
  }
  const models = createWorkspace('b2-models', { plugins: [{ plugin: 'nx-triton', options: {} }], files: yamlFiles });
  const plain = createWorkspace('b2-project-json', { plugins: [], files: jsonFiles });

  const show = (ws) => {
    remove(join(ws.root, '.nx', 'workspace-data'));
    const r = ws.nx(['show', 'projects']);
    const count = r.stdout.split('\n').filter((l) => /^m\d{4}$/.test(l.trim())).length;
    if (count !== COUNT) throw new Error(`nx show projects in ${ws.root} listed ${count} projects, expected ${COUNT}:\n${r.stdout.slice(-1500)}`);
    return r.ms;
  };
  show(models); // untimed: the first run also warms the OS caches
  show(plain);
  const ours = [];
  const base = [];
  for (let i = 0; i < runs(); i++) {
    log(`2: run ${i + 1}/${runs()}`);
    ours.push(show(models));
    base.push(show(plain));
  }

  // Diagnostic: the baseline again, with a plugin registered that reads every triton.yaml and adds nothing.
  plain.setPlugins([EMPTY_PLUGIN]);
  const ours2 = [];
  const floor = [];
  for (let i = 0; i < runs(); i++) {
    log(`2b: run ${i + 1}/${runs()}`);
    ours2.push(show(models));
    floor.push(show(plain));
  }
  models.remove();
  plain.remove();
  const ratio = median(ours) / median(base);
  const ratio2 = median(ours2) / median(floor);
  return [
    {
      id: '2',
      name: '`nx show projects` (workspace-data deleted), 1,000 triton.yaml models vs 1,000 project.json projects',
      ours: median(ours),
      baseline: median(base),
      ratio,
      goal: `<= ${GOAL}x`,
      met: ratio <= GOAL,
      samples: { ours, baseline: base },
    },
    {
      id: '2b',
      name: 'diagnostic: the same, baseline with an empty createNodes plugin for triton.yaml registered (Nx\'s floor for any plugin)',
      ours: median(ours2),
      baseline: median(floor),
      ratio: ratio2,
      goal: '-',
      met: null,
      samples: { ours: ours2, baseline: floor },
    },
  ];
}
