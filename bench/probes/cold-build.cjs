// Benchmark 5, our side: what `nx run <model>:build` runs for a cold build, as library calls in
// one process: runExport (export target) then buildModel (build target). Prints phase times.
// usage: node cold-build.cjs <workspaceRoot> <models/<name>/triton.yaml>
'use strict';
const { join, resolve } = require('node:path');

const started = performance.now();
const dist = resolve(__dirname, '..', '..', 'dist');
const { loadSpec } = require(join(dist, 'lib', 'model-spec', 'index.js'));
const { runExport } = require(join(dist, 'lib', 'targets', 'export.js'));
const { buildModel } = require(join(dist, 'lib', 'targets', 'build.js'));

async function main() {
  const [workspaceRoot, specFile] = process.argv.slice(2);
  const loaded = performance.now();
  const spec = loadSpec(join(workspaceRoot, specFile), { displayPath: specFile });
  await runExport({ spec, workspaceRoot });
  const exported = performance.now();
  await buildModel({ workspaceRoot, specFile, repository: 'dist/model-repository', resolveSpecFile: () => undefined });
  const built = performance.now();
  const phases = { loadModulesMs: loaded - started, exportMs: exported - loaded, buildMs: built - exported };
  process.stdout.write(`${JSON.stringify(phases)}\n`);
}

main().catch((err) => {
  console.error(err?.message ?? err);
  process.exitCode = 1;
});
