// Builds one TensorRT engine through the engine store (dist/), with the trtexec stand-in on PATH.
// argv: <dist> <json {workspaceRoot, onnxPath, outDir}>; env carries PATH, FAKE_TRT_*, NX_TRITON_ENGINE_CACHE.
'use strict';
const { join } = require('node:path');
const [dist, json] = process.argv.slice(2);
const { buildEngine } = require(join(dist, 'lib/engine/build-engine.js'));
const o = JSON.parse(json);
const config = {
  name: 'my_trt',
  platform: 'tensorrt_plan',
  max_batch_size: 8,
  input: [{ name: 'x', data_type: 'TYPE_FP32', dims: [4] }],
  output: [{ name: 'y', data_type: 'TYPE_FP32', dims: [4] }],
};
const spec = { file: 'models/my_trt/triton.yaml', dir: join(o.workspaceRoot, 'models/my_trt'), name: 'my_trt', config, version: 1, previousVersions: {}, positions: {} };
buildEngine({ workspaceRoot: o.workspaceRoot, spec, config, onnxPath: o.onnxPath, outDir: o.outDir, log: () => undefined }).then(
  (r) => process.stdout.write(`built ${r.hit ? 'hit' : 'miss'} ${r.key}\n`),
  (err) => {
    process.stdout.write(`error: ${err && err.name}: ${err && err.message}\n`);
    process.exitCode = 1;
  },
);
