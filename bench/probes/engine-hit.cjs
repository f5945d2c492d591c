// Benchmark 4, our side: what the engine target runs (see executors/engine), as library calls:
// load the spec, read the ONNX signature, derive the config, buildEngine through the engine store.
// usage: node engine-hit.cjs <workspaceRoot> <models/<name>/triton.yaml> <onnx> hit|build|phases
// Env: NX_TRITON_ENGINE_CACHE (the store), PATH with the trtexec/nvidia-smi stand-ins first.
'use strict';
const { join } = require('node:path');

const started = performance.now();
const dist = join(__dirname, '..', '..', 'dist');
const { deriveModelConfig } = require(join(dist, 'lib', 'config', 'index.js'));
const { buildEngine } = require(join(dist, 'lib', 'engine', 'build-engine.js'));
const { readFingerprint } = require(join(dist, 'lib', 'engine', 'fingerprint.js'));
const { onnxDigest } = require(join(dist, 'lib', 'engine', 'key.js'));
const { readOnnxSignature } = require(join(dist, 'lib', 'onnx', 'index.js'));
const { loadSpec } = require(join(dist, 'lib', 'model-spec', 'index.js'));

async function engine(workspaceRoot, specFile, onnxPath) {
  const spec = loadSpec(join(workspaceRoot, specFile), { displayPath: specFile });
  const onnx = await readOnnxSignature(onnxPath);
  const config = deriveModelConfig(spec, { onnx, onnxFile: onnxPath });
  return buildEngine({
    workspaceRoot,
    spec,
    config,
    onnxPath,
    externalData: onnx.externalData,
    outDir: join(workspaceRoot, 'dist', 'models', spec.name, 'engine'),
    log: () => undefined,
  });
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
  const r = await engine(workspaceRoot, specFile, onnxPath);
  const done = performance.now();
  if (mode === 'hit' && !r.hit) throw new Error('expected an engine store hit, but trtexec ran');
  process.stdout.write(`${JSON.stringify({ hit: r.hit, loadModulesMs: loaded - started, engineMs: done - loaded })}\n`);
}

main().catch((err) => {
  console.error(err?.stack ?? err);
  process.exitCode = 1;
});
