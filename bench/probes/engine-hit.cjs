// Benchmark 4, our side: the engine target (lib/targets/engine.ts, what executors/engine runs), as a
// library call: spec, ONNX signature, config, engine request, the engine store.
// usage: node engine-hit.cjs <workspaceRoot> <models/<name>/triton.yaml> <onnx> hit|build|phases
// Env: NX_TRITON_ENGINE_CACHE (the store), PATH with the trtexec/nvidia-smi stand-ins first.
'use strict';
const { join } = require('node:path');

const started = performance.now();
const dist = join(__dirname, '..', '..', 'dist');
const { runEngineTarget } = require(join(dist, 'lib', 'targets', 'engine.js'));
const { readFingerprint } = require(join(dist, 'lib', 'engine', 'fingerprint.js'));
const { onnxDigest } = require(join(dist, 'lib', 'engine', 'key.js'));

/** The engine target itself; `onnxPath` is where the model's export put its ONNX (the target finds it there). */
async function engine(workspaceRoot, specFile) {
  const [plan] = await runEngineTarget({ workspaceRoot, specFile, resolveSpecFile: () => undefined, log: () => undefined });
  return plan;
}

async function main() {
  const [workspaceRoot, specFile, onnxPath, mode] = process.argv.slice(2);
  const loaded = performance.now();
  if (mode === 'phases') {
    const t0 = performance.now();
    await readFingerprint({});
    const t1 = performance.now();
    await onnxDigest(onnxPath, []);
    const t2 = performance.now();
    process.stdout.write(`${JSON.stringify({ loadModulesMs: loaded - started, fingerprintMs: t1 - t0, sha256Ms: t2 - t1 })}\n`);
    return;
  }
  const r = await engine(workspaceRoot, specFile);
  const done = performance.now();
  if (mode === 'hit' && !r.hit) throw new Error('expected an engine store hit, but trtexec ran');
  process.stdout.write(`${JSON.stringify({ hit: r.hit, loadModulesMs: loaded - started, engineMs: done - loaded })}\n`);
}

main().catch((err) => {
  console.error(err?.stack ?? err);
  process.exitCode = 1;
});
