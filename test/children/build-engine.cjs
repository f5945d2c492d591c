// Builds one TensorRT engine through the engine store of the built package, with the trtexec
// stand-in on PATH. Prints each log line, then `built hit|miss <key>` (or `error: ...`, exit 1).
// argv: <dist> <json {workspaceRoot, onnxPath, outDir, spec?, config?}>; env carries PATH, FAKE_TRT_*, NX_TRITON_ENGINE_CACHE.
'use strict';
const { join } = require('node:path');
const [dist, json] = process.argv.slice(2);
const { buildEngine } = require(join(dist, 'lib/engine/build-engine.js'));
const { engineRequest } = require(join(dist, 'lib/model-spec/engine-request.js'));
const o = JSON.parse(json);
const config = o.config ?? {
  name: 'my_trt',
  platform: 'tensorrt_plan',
  max_batch_size: 8,
  input: [{ name: 'x', data_type: 'TYPE_FP32', dims: [4] }],
  output: [{ name: 'y', data_type: 'TYPE_FP32', dims: [4] }],
};
const spec = o.spec ?? { file: 'models/my_trt/triton.yaml', dir: join(o.workspaceRoot, 'models/my_trt'), name: 'my_trt', config, version: 1, previousVersions: {}, positions: {} };
const log = (line) => process.stdout.write(`${line}\n`);
buildEngine({ workspaceRoot: o.workspaceRoot, request: engineRequest(spec, config), onnxPath: o.onnxPath, outDir: o.outDir, log }).then(
  (r) => process.stdout.write(`built ${r.hit ? 'hit' : 'miss'} ${r.key}\n`),
  (err) => {
    process.stdout.write(`error: ${err && err.name}: ${err && err.message}\n`);
    process.exitCode = 1;
  },
);
